// Views' state objects outlive the views: one per studio (onePerStudio), made the first time a view
// asks for it, i.e. while that component is being set up. A $derived made then is owned by the
// component's effect, and Svelte 5 freezes a derived whose owner was destroyed (it warns
// "derived_inert" and keeps returning its last value). So after the view was left and opened again,
// every derived field (the Evaluate table's filtered rows, its task and cluster lists; the Data
// view's selected dataset) stayed as it was when the view was first left. Made inside a root effect
// of their own, which nothing destroys, the deriveds keep following their state.

/** Runs `create` under a root effect of its own, so the $derived fields of what it makes never go inert. */
export function detached<T>(create: () => T): T {
  // $effect.root runs its function at once, before it returns
  let made!: T;
  $effect.root(() => {
    made = create();
  });
  return made;
}
