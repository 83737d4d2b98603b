// Tiny argv parser for the CLI: `<command> [positional…] [--flag value | --switch]`.
// Switches are named explicitly so that `--greedy 1,2` can never swallow a value by accident.

export interface ParsedArgs {
  command: string | undefined;
  positional: string[];
  flags: Map<string, string>;
  switches: Set<string>;
}

export class UsageError extends Error {
  override name = 'UsageError';
}

const SWITCHES = new Set(['greedy', 'quick', 'no-cache', 'help', 'json', 'packing', 'keep-best', 'merge', 'gradient-checkpointing']);

export function parseArgs(argv: string[]): ParsedArgs {
  const positional: string[] = [];
  const flags = new Map<string, string>();
  const switches = new Set<string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (!arg.startsWith('--')) {
      positional.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const name = arg.slice(2, eq === -1 ? undefined : eq);
    if (SWITCHES.has(name) && eq === -1) {
      switches.add(name);
      continue;
    }
    const value = eq === -1 ? argv[++i] : arg.slice(eq + 1);
    if (value === undefined) throw new UsageError(`--${name} needs a value`);
    flags.set(name, value);
  }
  return { command: positional.shift(), positional, flags, switches };
}

export function required(args: ParsedArgs, name: string): string {
  const value = args.flags.get(name);
  if (value === undefined) throw new UsageError(`${args.command}: --${name} is required`);
  return value;
}

export function intFlag(args: ParsedArgs, name: string, fallback: number): number {
  const raw = args.flags.get(name);
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0) throw new UsageError(`--${name} must be a non-negative integer, got "${raw}"`);
  return value;
}

export function numberFlag(args: ParsedArgs, name: string): number | undefined {
  const raw = args.flags.get(name);
  if (raw === undefined) return undefined;
  const value = Number(raw);
  if (!Number.isFinite(value)) throw new UsageError(`--${name} must be a number, got "${raw}"`);
  return value;
}

/** "1,2,3" → [1, 2, 3]; rejects anything that is not a list of non-negative integers. */
export function idList(raw: string, name: string): number[] {
  const parts = raw.split(',').map((s) => s.trim()).filter((s) => s !== '');
  const ids = parts.map(Number);
  if (ids.length === 0 || ids.some((id) => !Number.isInteger(id) || id < 0)) {
    throw new UsageError(`--${name} must be comma-separated token ids, got "${raw}"`);
  }
  return ids;
}
