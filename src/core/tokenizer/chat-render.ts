// Renders a chat template (from a stranger's tokenizer_config.json) with a budget. @huggingface/jinja
// is synchronous and unbounded: `range(1e9)` builds a billion-element array (V8 aborts the whole
// process with "invalid size", which no try/catch sees) and two nested `range(3000)` loops run for
// 40 s. Template.render cannot be given other globals (its own `range` is declared first and
// redeclaring throws), so this builds the render environment itself — the same globals as the
// library's setupGlobals, with a `range` that refuses long ranges — and runs an Interpreter that
// counts evaluation steps and watches the output size. The environment lives for one render and
// is thrown away with everything the template built.
import { Environment, Interpreter, type Template } from '@huggingface/jinja';

export interface RenderBudget {
  /** evaluation steps (AST nodes visited, range elements made). tiny-llama's template renders a
   *  100-message chat in under 1,000; 250,000 (~25,000 messages) stops a runaway loop in ~0.6 s
   *  on this 2-core machine (measured: the 3000 × 3000 loop of issue 12) */
  maxSteps: number;
  /** longest range() a template may ask for; real templates range over messages or a few tools */
  maxRange: number;
  /** characters of any one string value, the output included (16 Mi ≈ 4M tokens of text) */
  maxChars: number;
  /** wall-clock limit, a backstop for a step that is slow by itself (e.g. a huge join) */
  maxMs: number;
}

export const DEFAULT_RENDER_BUDGET: RenderBudget = { maxSteps: 250_000, maxRange: 100_000, maxChars: 16 * 1024 * 1024, maxMs: 5_000 };

/** Thrown when a template goes over its budget; the caller names the file and field. */
export class TemplateBudgetError extends Error {
  override name = 'TemplateBudgetError';
}

/** How often (in steps) the clock is read: reading it every step would double the cost. */
const CLOCK_EVERY = 4096;

class BudgetedInterpreter extends Interpreter {
  steps = 0;
  private readonly deadline: number;

  constructor(
    env: Environment,
    private readonly budget: RenderBudget,
  ) {
    super(env);
    this.deadline = Date.now() + budget.maxMs;
  }

  charge(steps: number): void {
    this.steps += steps;
    if (this.steps > this.budget.maxSteps) {
      throw new TemplateBudgetError(
        `takes more than ${this.budget.maxSteps.toLocaleString('en-US')} evaluation steps (a loop that never ends or runs millions of times); a chat template only needs to walk the messages`,
      );
    }
    if (this.steps % CLOCK_EVERY < steps && Date.now() > this.deadline) {
      throw new TemplateBudgetError(`ran for more than ${this.budget.maxMs} ms; a chat template should render in milliseconds`);
    }
  }

  override evaluate(...args: Parameters<Interpreter['evaluate']>): ReturnType<Interpreter['evaluate']> {
    this.charge(1);
    const result = super.evaluate(...args);
    if (typeof result.value === 'string' && result.value.length > this.budget.maxChars) {
      throw new TemplateBudgetError(`produces more than ${this.budget.maxChars.toLocaleString('en-US')} characters of text`);
    }
    return result;
  }
}

/** Python's range(), refusing non-integers and ranges longer than the budget before building one. */
function boundedRange(interpreter: () => BudgetedInterpreter, budget: RenderBudget) {
  return (...args: unknown[]): number[] => {
    if (args.length < 1 || args.length > 3 || !args.every((a) => typeof a === 'number' && Number.isSafeInteger(a))) {
      throw new Error(`range() takes one to three integers, got (${args.map((a) => String(a)).join(', ')})`);
    }
    const [start, stop, step] = args.length === 1 ? [0, args[0] as number, 1] : [args[0] as number, args[1] as number, (args[2] as number | undefined) ?? 1];
    if (step === 0) throw new Error('range() step must not be zero');
    const length = Math.max(0, Math.ceil((stop - start) / step));
    if (length > budget.maxRange) {
      throw new TemplateBudgetError(`asks for range() of ${length.toLocaleString('en-US')} numbers; at most ${budget.maxRange.toLocaleString('en-US')} are allowed`);
    }
    interpreter().charge(length);
    return Array.from({ length }, (_, i) => start + i * step);
  };
}

/** strftime_now as the library defines it (the same subset of directives). */
function strftimeNow(format: unknown): string {
  const date = new Date();
  const pad2 = (n: number) => String(n).padStart(2, '0');
  return String(format).replace(/%[YmdbBHM%]/g, (token) => {
    switch (token) {
      case '%Y':
        return String(date.getFullYear());
      case '%m':
        return pad2(date.getMonth() + 1);
      case '%d':
        return pad2(date.getDate());
      case '%b':
        return new Intl.DateTimeFormat(undefined, { month: 'short' }).format(date);
      case '%B':
        return new Intl.DateTimeFormat(undefined, { month: 'long' }).format(date);
      case '%H':
        return pad2(date.getHours());
      case '%M':
        return pad2(date.getMinutes());
      default:
        return '%';
    }
  });
}

/**
 * Template.render(items) with a budget: the same output for every template that stays inside it,
 * a TemplateBudgetError (or the template's own error) otherwise.
 */
export function renderWithBudget(template: Template, items: Record<string, unknown>, budget: RenderBudget = DEFAULT_RENDER_BUDGET): string {
  const env = new Environment();
  let interpreter: BudgetedInterpreter | undefined;
  // the library's setupGlobals, with range bounded
  env.set('false', false);
  env.set('true', true);
  env.set('none', null);
  env.set('raise_exception', (message: unknown) => {
    throw new Error(String(message));
  });
  env.set('range', boundedRange(() => interpreter!, budget));
  env.set('strftime_now', strftimeNow);
  env.set('True', true);
  env.set('False', false);
  env.set('None', null);
  for (const [key, value] of Object.entries(items)) env.set(key, value);
  interpreter = new BudgetedInterpreter(env, budget);
  const result = interpreter.run(template.parsed);
  return result.value as string;
}
