// Where the user's backend choice lives: a `?backend=` URL parameter (for tests and links) wins over
// the setting saved in localStorage; "auto" means measure and pick the fastest.
import type { BackendName } from '../studio-client';

export type BackendPin = BackendName | 'auto';
export const BACKEND_PINS: readonly BackendPin[] = ['auto', 'webgpu', 'webgl', 'wasm', 'cpu'];
const STORAGE_KEY = 'hone.backend';

function isPin(value: unknown): value is BackendPin {
  return typeof value === 'string' && (BACKEND_PINS as readonly string[]).includes(value);
}

export interface PinChoice {
  pin: BackendPin;
  /** where the pin came from, so the settings can say why a choice is not editable */
  source: 'url' | 'settings' | 'default';
}

export function readBackendPin(): PinChoice {
  const fromUrl = new URLSearchParams(location.search).get('backend');
  if (isPin(fromUrl)) return { pin: fromUrl, source: 'url' };
  let saved: string | null = null;
  try {
    saved = localStorage.getItem(STORAGE_KEY);
  } catch {
    // storage disabled (private mode, sandboxed frame): the pin just is not remembered
  }
  if (isPin(saved)) return { pin: saved, source: 'settings' };
  return { pin: 'auto', source: 'default' };
}

export function saveBackendPin(pin: BackendPin): void {
  try {
    if (pin === 'auto') localStorage.removeItem(STORAGE_KEY);
    else localStorage.setItem(STORAGE_KEY, pin);
  } catch {
    // see readBackendPin
  }
}
