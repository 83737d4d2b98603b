// `npm run --silent hone -- <command> …`: Hone's core from the command line.
// stdout carries exactly one JSON document; anything else (tfjs banners, warnings) goes to stderr.
import { parseArgs, UsageError, required, type ParsedArgs } from './args';

const HELP = `usage: npm run --silent hone -- <command> [options]   (all commands take --backend cpu|wasm, default wasm)
  tokenize --model DIR --text STR                       → {"ids":[…]}
  decode   --model DIR --ids 1,2,3                      → {"text":"…"}
  logits   --model DIR --input REQ.json --out OUT.safetensors [--adapter DIR (PEFT layout or Hone export)]
  generate --model DIR --prompt-ids 1,2,3 [--max-new-tokens N --greedy --temperature T --top-k K --top-p P --repetition-penalty R --seed S]
  metrics  --file CASES.json                            → [result, …]
  eval     --model DIR [--adapter DIR] --data FILE.jsonl --out REPORT.json
           [--metric rougeL --max-new-tokens 64 --shots K --seed S --prompt alpaca|task --format F --limit N]
           base (and, with --adapter, tuned) on every example; writes the report, prints the summary
  import   FILE [--format alpaca|dolly|sharegpt|messages|sni|csv|text|auto] --out OUT.jsonl
  pretrain [--out public/models/hone-tiny --work .pretrain --max-minutes M --checkpoint-every N --steps N --documents N]
           builds hone-tiny; resumes from WORK/checkpoint when one is there
  experiment flan [--quick] [--model DIR (default public/models/hone-tiny)] [--held-out a,b,c] --out REPORT.json
           [--steps N --train-per-cluster N --eval-per-cluster N --sweep 1,4 --ablation off]
  train    --model DIR --data FILE.jsonl --method lora|ia3|prefix|prompt|adapter|full|freeze --out DIR
           [--steps N (100) --lr X (the method's) --batch B (4) --grad-accum N (1) --warmup N (0) --schedule constant|linear|cosine (linear)
            --weight-decay X (0) --seed S (42) --config '{"r":4}' --format F (auto)]
           [--max-length L (min(256, positions)) --prompt alpaca|template|chat (alpaca) --loss completion|assistant|all (completion)
            --packing --chat-template FILE]   (the same row flags as \`rows\`)
           [--val-fraction F (0) --eval-every N (steps/10) --early-stopping-patience N --early-stopping-min-delta X (0) --keep-best]
           [--gradient-checkpointing]   (recompute each block in the backward: less memory, one more forward)
           writes the exported adapter folder (the best validated weights with --keep-best); progress as JSON lines on stderr,
           the summary (rows summary, settings, best step) on stdout
  rows     --model DIR --data FILE.jsonl --max-length N [--loss completion|assistant|all] [--packing] [--format F]
           [--prompt alpaca|template|chat] [--chat-template FILE]
           the rows training would use, in order, as JSON lines {"input_ids","labels"[,"position_ids"]}; the summary on stderr
  export   --model DIR --adapter DIR --merge --out DIR
           LoRA merged into the base: a whole checkpoint (config, weights, tokenizer, generation config)
  handoff  --model DIR|ID --data FILE --method NAME [the train flags] --out DIR [--base-model ID]
           the run for a cluster: data.jsonl (TRL format), train_trl.py, axolotl.yaml, README.md
  bench    --preset hone-tiny|small|gpt2-small|smollm2-135m|smoke|micro [--methods lora,prefix,adapter,full]
           [--steps N --warmup N --batch B --seq T --profile on|off --seed S] [--gradient-checkpointing] [--json]
           training tokens/s, GFLOP/s, peak RSS per method; --json: one JSON object per method per line
  pull     ORG/NAME [--revision R] --out DIR [--max-memory 8GB (75% of RAM) --method M --batch B --max-length L]
           a model from the Hub (HF_ENDPOINT, HF_TOKEN) into DIR, complete or not at all; progress as JSON lines on stderr.
           Every --model also takes ORG/NAME[@REV], pulled into $HONE_CACHE (~/.cache/hone/hub) once`;

type Command = (args: ParsedArgs) => Promise<unknown>;

const commands: Record<string, { needsTf: boolean; run: Command }> = {
  tokenize: { needsTf: false, run: async (a) => (await import('./commands/model')).tokenizeCommand(a) },
  decode: { needsTf: false, run: async (a) => (await import('./commands/model')).decodeCommand(a) },
  logits: { needsTf: true, run: async (a) => (await import('./commands/model')).logitsCommand(a) },
  generate: { needsTf: true, run: async (a) => (await import('./commands/model')).generateCommand(a) },
  train: { needsTf: true, run: async (a) => (await import('./commands/train')).trainCommand(a) },
  rows: { needsTf: false, run: async (a) => (await import('./commands/rows')).rowsCommand(a) },
  export: { needsTf: true, run: async (a) => (await import('./commands/export')).exportCommand(a) },
  handoff: { needsTf: true, run: async (a) => (await import('./commands/handoff')).handoffCommand(a) },
  experiment: { needsTf: true, run: async (a) => (await import('./commands/experiment')).experimentCommand(a) },
  pretrain: { needsTf: true, run: async (a) => (await import('./commands/pretrain')).pretrainCommand(a) },
  metrics: { needsTf: false, run: async (a) => (await import('./commands/metrics')).metricsCommand(required(a, 'file')) },
  eval: { needsTf: true, run: async (a) => (await import('./commands/eval')).evalCommand(a) },
  bench: { needsTf: true, run: async (a) => (await import('./commands/bench')).benchCommand(a) },
  pull: { needsTf: false, run: async (a) => (await import('./commands/pull')).pullCommand(a) },
  import: {
    needsTf: false,
    run: async (a) => {
      const file = a.positional[0];
      if (!file) throw new UsageError('import: give the file to import, e.g. `import data.jsonl --out out.jsonl`');
      const { importCommand } = await import('./commands/import');
      const result = await importCommand({ file, format: a.flags.get('format'), out: required(a, 'out') });
      if (result.errors.length > 0) {
        process.stdout.write(JSON.stringify(result) + '\n');
        throw new Error(`import: ${result.errors.length} error(s), nothing written; first: ${describe(result.errors[0])}`);
      }
      return result;
    },
  },
};

function describe(error: { line?: number; record?: number; field?: string; message: string }): string {
  const where = [error.line !== undefined ? `line ${error.line}` : '', error.record !== undefined ? `record ${error.record}` : '', error.field ? `field "${error.field}"` : '']
    .filter(Boolean)
    .join(', ');
  return where ? `${where}: ${error.message}` : error.message;
}

async function main(argv: string[]): Promise<number> {
  // Keep stdout for the JSON answer: libraries that log (tfjs's Node banner) are sent to stderr.
  console.log = (...parts: unknown[]) => console.error(...parts);
  console.warn = (...parts: unknown[]) => console.error(...parts);
  console.info = (...parts: unknown[]) => console.error(...parts);

  const args = parseArgs(argv);
  if (!args.command || args.switches.has('help')) {
    process.stderr.write(HELP + '\n');
    return args.command ? 0 : 2;
  }
  const command = commands[args.command];
  if (!command) throw new UsageError(`unknown command "${args.command}" (known: ${Object.keys(commands).join(', ')})`);
  if (command.needsTf || args.flags.has('backend')) {
    const backend = args.flags.get('backend') ?? 'wasm';
    if (backend !== 'cpu' && backend !== 'wasm') throw new UsageError(`--backend must be cpu or wasm, got "${backend}"`);
    const { setNodeBackend } = await import('./node-backend');
    await setNodeBackend(backend);
  }
  const result = await command.run(args);
  // undefined: the command printed its own output (bench --json writes one line per method)
  if (result !== undefined) process.stdout.write(JSON.stringify(result) + '\n');
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    const message = error instanceof Error ? error.message : String(error);
    process.stderr.write(`hone: ${message.split('\n')[0]}\n`);
    process.exit(error instanceof UsageError ? 2 : 1);
  },
);
