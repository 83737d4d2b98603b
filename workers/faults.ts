// WebGPU device loss in the studio worker. tfjs-webgpu never says when its GPUDevice is lost (a driver
// reset, the GPU process crashing, destroy()); every later op silently does nothing and every read
// fails. So the worker watches the device itself: `device.lost`, and uncaptured out-of-memory and
// internal errors (after those the device's results cannot be trusted either). On a loss the running
// jobs stop without writing anything computed on the dead device (a training run is abandoned at its
// last checkpoint), the next fastest backend from the measured ranking becomes active, the current
// model is loaded onto it, and the page hears why (a notice); training then resumes by itself
// (training.ts waits for `recovery()`). Uncaptured validation errors are program bugs, not a lost
// device: they are logged, not acted on.
import * as tf from '@tensorflow/tfjs';
import type { BackendReport } from '../src/core/backend/select';
import { currentModel, getBackendReport, notify, setBackendReport } from './context';
import { makeCurrent } from './models';

export interface Recovery {
  /** why the device stopped, for people: "the WebGPU device was lost (destroyed)" */
  cause: string;
  report: BackendReport;
  /** the notice's text: the cause, the new backend, the model reloaded */
  message: string;
}

/** How long a failed step waits for `device.lost` before taking its error for an ordinary one. */
const LOSS_GRACE_MS = 2_000;

/** backends.ts's fallbackBackend, passed in by the worker (this module stays importable in Node tests) */
type Fallback = (report: BackendReport, lost: 'webgpu', cause: string) => Promise<BackendReport>;

let fallback: Fallback | null = null;
let watched: GPUDevice | null = null;
let lostCause: string | null = null;
let recovering: Promise<Recovery | null> | null = null;
const stoppers = new Set<(cause: string) => Promise<void>>();

/**
 * Registers what stops a job when the device is lost (training abandons its session); the promise
 * settles once the job has stopped, so that the model is reloaded only after. Returns an unregister.
 */
export function onDeviceLoss(stop: (cause: string) => Promise<void>): () => void {
  stoppers.add(stop);
  return () => stoppers.delete(stop);
}

function deviceOf(): GPUDevice | null {
  if (tf.getBackend() !== 'webgpu') return null;
  return (tf.backend() as unknown as { device?: GPUDevice }).device ?? null;
}

function describeLoss(info: GPUDeviceLostInfo): string {
  // "destroyed" comes with "Device was destroyed."; a real loss says "unknown" and why in the message
  const message = info.message.trim().replace(/\.$/, '');
  const detail = message && !(info.reason && message.toLowerCase().includes(info.reason)) ? `: ${message}` : '';
  return `the WebGPU device was lost (${info.reason || 'unknown reason'}${detail})`;
}

/** Watches the active backend's GPUDevice, if it is webgpu; call after every backend activation. */
export function watchDevice(next: Fallback): void {
  fallback = next;
  const device = deviceOf();
  if (!device || device === watched) return;
  watched = device;
  lostCause = null;
  recovering = null;
  void device.lost.then((info) => {
    if (watched === device) deviceFailed(describeLoss(info));
  });
  device.addEventListener('uncapturederror', (event) => {
    const error = (event as GPUUncapturedErrorEvent).error;
    const outOfMemory = typeof GPUOutOfMemoryError !== 'undefined' && error instanceof GPUOutOfMemoryError;
    const internal = typeof GPUInternalError !== 'undefined' && error instanceof GPUInternalError;
    console.error(`WebGPU uncaptured ${outOfMemory ? 'out-of-memory' : internal ? 'internal' : 'validation'} error: ${error.message}`);
    if ((outOfMemory || internal) && watched === device) {
      deviceFailed(`the WebGPU device failed (${outOfMemory ? 'out of GPU memory' : 'an internal error'}: ${error.message})`);
    }
  });
}

/** The device's failure, once: stop the jobs, switch backend, reload the model, tell the page. */
function deviceFailed(cause: string): void {
  if (recovering) return;
  lostCause = cause;
  recovering = recover(cause);
}

async function recover(cause: string): Promise<Recovery | null> {
  const sentence = cause.charAt(0).toUpperCase() + cause.slice(1);
  await Promise.all([...stoppers].map((stop) => stop(cause).catch(() => undefined)));
  const report = getBackendReport();
  if (!report || !fallback) return null;
  try {
    const next = await fallback(report, 'webgpu', cause);
    setBackendReport(next);
    // from here on nothing runs on the lost device: a new job is not to be stopped for its loss
    watched = null;
    lostCause = null;
    const model = currentModel();
    // rebuilt from the host weights it was built from, on the new backend; making it current disposes
    // the decoder on the lost device (whose buffers are gone anyway)
    if (model) makeCurrent(model.checkpoint, model.summary);
    const message = `${sentence}; Hone switched to ${next.chosen}${model ? ` and reloaded “${model.summary.name}”` : ''}.`;
    notify({ kind: 'backend-changed', cause, message, report: next });
    return { cause, report: next, message };
  } catch (error) {
    console.error(`${sentence}, and no other backend could take over: ${error instanceof Error ? error.message : String(error)}`);
    return null;
  }
}

/** The recovery under way or done for the lost device (null: no device was lost). */
export function recovery(): Promise<Recovery | null> | null {
  return recovering;
}

/** The loss's cause while its recovery is under way (null: no device lost, or already replaced). */
export function deviceLoss(): string | null {
  return lostCause;
}

/**
 * For a step or store write that threw: the loss's cause when the device was lost (waiting briefly for
 * `device.lost`, which may settle just after the failed read), null for an ordinary error.
 */
export async function lossBehind(_error: unknown): Promise<string | null> {
  if (lostCause) return lostCause;
  const device = watched;
  if (!device || tf.getBackend() !== 'webgpu') return null;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const cause = await Promise.race([
    device.lost.then(describeLoss),
    new Promise<null>((resolve) => (timer = setTimeout(() => resolve(null), LOSS_GRACE_MS))),
  ]);
  clearTimeout(timer);
  return cause;
}

/**
 * Test hook (browser fault specs): destroys the active WebGPU device, which makes `device.lost` settle
 * with reason "destroyed" — the same path a real loss takes. False when the backend is not webgpu.
 */
export function destroyDeviceForTest(): boolean {
  const device = deviceOf();
  if (!device) return false;
  device.destroy();
  return true;
}
