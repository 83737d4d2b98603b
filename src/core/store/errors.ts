// Errors the store hands to people. Each says what was being saved or looked up, what went wrong,
// and what to do next; every failed write has already been rolled back when one of these is thrown.

import { storageEstimate } from './persist';

/** The browser refused a write because this site's storage quota (or the disk) is full. */
export class StorageQuotaError extends Error {
  override readonly name = 'StorageQuotaError';
  constructor(
    /** what was being done, in the user's words, e.g. `saving model “tiny-gpt2” (2 files)` */
    readonly what: string,
    /** approximate size of the write in bytes, when known */
    readonly bytes: number | undefined,
    /** bytes this site already uses, from navigator.storage.estimate(), when available */
    readonly usage: number | undefined,
    /** bytes this site may use, from navigator.storage.estimate(), when available */
    readonly quota: number | undefined,
    options?: { cause?: unknown },
  ) {
    super(quotaMessage(what, bytes, usage, quota), options);
  }
}

/** A write failed for a reason other than quota; nothing from it was kept. */
export class StorageWriteError extends Error {
  override readonly name = 'StorageWriteError';
  constructor(
    readonly what: string,
    /** the underlying DOMException's name, e.g. ConstraintError or DataCloneError */
    readonly reason: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** A record the caller named by id is not in the database. */
export class StoreNotFoundError extends Error {
  override readonly name = 'StoreNotFoundError';
  constructor(
    /** which kind of record: model, dataset, example, run, checkpoint, evaluation */
    readonly kind: string,
    readonly id: string,
  ) {
    super(
      `No ${kind} with id “${id}” is stored in this browser; it may have been deleted in another tab. ` +
        `Reload the list and choose another ${kind}.`,
    );
  }
}

/** The database could not be opened or upgraded to the version this build of Hone expects. */
export class StoreVersionError extends Error {
  override readonly name = 'StoreVersionError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/**
 * True for the quota errors browsers actually raise: `QuotaExceededError` (Chromium, Safari, current
 * Firefox), the legacy DOMException code 22 (old WebKit names it differently), and Firefox's
 * `NS_ERROR_DOM_QUOTA_REACHED`.
 */
export function isQuotaError(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const { name, code } = error as { name?: unknown; code?: unknown };
  if (name === 'QuotaExceededError' || name === 'NS_ERROR_DOM_QUOTA_REACHED') return true;
  // Only trust the numeric code on a real DOMException: Node errors carry unrelated `code`s.
  return typeof DOMException !== 'undefined' && error instanceof DOMException && code === 22;
}

/**
 * Turns whatever a failed write threw into an error a person can act on: StorageQuotaError for
 * quota (with the site's usage and quota when the browser reports them), StorageWriteError for the
 * rest. Errors the store raised itself (not-found, version) pass through unchanged. Never throws.
 */
export async function wrapStorageError(error: unknown, what: string, bytes?: number): Promise<Error> {
  if (
    error instanceof StorageQuotaError ||
    error instanceof StorageWriteError ||
    error instanceof StoreNotFoundError ||
    error instanceof StoreVersionError
  ) {
    return error;
  }
  if (isQuotaError(error)) {
    const estimate = await storageEstimate();
    return new StorageQuotaError(what, bytes, estimate?.usage, estimate?.quota, { cause: error });
  }
  const reason = errorName(error);
  const detail = errorMessage(error);
  return new StorageWriteError(
    what,
    reason,
    `${what.charAt(0).toUpperCase()}${what.slice(1)} failed (${reason}: ${detail}). ${hintFor(reason)}Nothing was written.`,
    { cause: error },
  );
}

function quotaMessage(what: string, bytes?: number, usage?: number, quota?: number): string {
  const size = bytes !== undefined ? ` (it needed about ${formatBytes(bytes)})` : '';
  const standing =
    usage !== undefined && quota !== undefined
      ? ` The browser reports ${formatBytes(usage)} used of ${formatBytes(quota)} allowed for this site.`
      : '';
  return (
    `Browser storage is full: ${what} was refused${size}.${standing} ` +
    `Delete old runs, checkpoints or models in Hone, or free disk space on this computer, then try again. ` +
    `Nothing was written.`
  );
}

function hintFor(reason: string): string {
  switch (reason) {
    case 'ConstraintError':
      return 'A record with the same id already exists. ';
    case 'DataCloneError':
      return 'A value in the record cannot be stored (functions and class instances with private state cannot be saved). ';
    case 'InvalidStateError':
    case 'TransactionInactiveError':
      return 'The database connection was closed, possibly by an upgrade in another tab; reload the page. ';
    default:
      return '';
  }
}

function errorName(error: unknown): string {
  if (typeof error === 'object' && error !== null && typeof (error as { name?: unknown }).name === 'string') {
    return (error as { name: string }).name;
  }
  return 'Error';
}

// Read structurally: in some runtimes DOMException does not extend Error.
function errorMessage(error: unknown): string {
  if (typeof error === 'object' && error !== null && typeof (error as { message?: unknown }).message === 'string') {
    return (error as { message: string }).message;
  }
  return String(error);
}

/** 1536 → "1.5 KB": decimal units, as browsers and operating systems report disk space. */
export function formatBytes(bytes: number): string {
  const units = ['bytes', 'KB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit += 1;
  }
  return unit === 0 ? `${Math.round(value)} bytes` : `${value.toFixed(1)} ${units[unit]}`;
}
