// CLI commands over a model folder: tokenize, decode, logits, generate.
import { readFile, writeFile, rename } from 'node:fs/promises';
import { PeftModel, readAdapterFolder } from '../../src/core/peft';
import { loadCheckpoint, type Checkpoint } from '../../src/core/model/checkpoint';
import { Decoder, computeLogits } from '../../src/core/model/decoder';
import { generate } from '../../src/core/model/generate';
import { writeSafetensors } from '../../src/core/model/safetensors';
import { readAdapterDir } from '../read-adapter-dir';
import { readModelDir } from '../read-model-dir';
import { type ParsedArgs, UsageError, idList, intFlag, numberFlag, required } from '../args';

async function checkpointFrom(args: ParsedArgs): Promise<Checkpoint> {
  return loadCheckpoint(await readModelDir(required(args, 'model')));
}

async function withDecoder<T>(checkpoint: Checkpoint, fn: (decoder: Decoder) => Promise<T>): Promise<T> {
  const decoder = Decoder.fromHost(checkpoint.config, checkpoint.weights);
  try {
    return await fn(decoder);
  } finally {
    decoder.dispose();
  }
}

export async function tokenizeCommand(args: ParsedArgs): Promise<{ ids: number[] }> {
  const text = required(args, 'text');
  const { tokenizer } = await checkpointFrom(args);
  return { ids: tokenizer.encode(text, { addSpecialTokens: false }) };
}

export async function decodeCommand(args: ParsedArgs): Promise<{ text: string }> {
  const ids = idList(required(args, 'ids'), 'ids');
  const { tokenizer, config } = await checkpointFrom(args);
  checkIds([ids], config.vocabSize, '--ids');
  return { text: tokenizer.decode(ids) };
}

function checkIds(rows: number[][], vocabSize: number, where: string): void {
  rows.forEach((row, b) =>
    row.forEach((id, t) => {
      if (id >= vocabSize) throw new UsageError(`${where}[${b}][${t}]: token id ${id} is outside the vocabulary (size ${vocabSize})`);
    }),
  );
}

/** Reads and checks `{"input_ids":[[…]],"attention_mask":[[…]]}`: rectangular, integer, same shapes. */
export function parseLogitsRequest(text: string, file: string): { inputIds: number[][]; attentionMask?: number[][] } {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new UsageError(`${file}: not valid JSON (${(e as Error).message})`);
  }
  const request = json as { input_ids?: unknown; attention_mask?: unknown };
  const grid = (value: unknown, field: string, allowed: (n: number) => boolean): number[][] => {
    if (!Array.isArray(value) || value.length === 0 || !value.every(Array.isArray)) {
      throw new UsageError(`${file}: field "${field}" must be a non-empty list of lists of integers`);
    }
    const rows = value as unknown[][];
    const width = rows[0].length;
    rows.forEach((row, b) => {
      if (row.length !== width || width === 0) {
        throw new UsageError(`${file}: field "${field}" row ${b} has ${row.length} entries, row 0 has ${width}; rows must be equal and non-empty`);
      }
      row.forEach((v, t) => {
        if (typeof v !== 'number' || !Number.isInteger(v) || !allowed(v)) {
          throw new UsageError(`${file}: field "${field}"[${b}][${t}] is ${JSON.stringify(v)}, not a valid value`);
        }
      });
    });
    return rows as number[][];
  };
  const inputIds = grid(request.input_ids, 'input_ids', (v) => v >= 0);
  if (request.attention_mask === undefined) return { inputIds };
  const attentionMask = grid(request.attention_mask, 'attention_mask', (v) => v === 0 || v === 1);
  if (attentionMask.length !== inputIds.length || attentionMask[0].length !== inputIds[0].length) {
    throw new UsageError(
      `${file}: attention_mask is [${attentionMask.length}, ${attentionMask[0].length}] but input_ids is [${inputIds.length}, ${inputIds[0].length}]`,
    );
  }
  return { inputIds, attentionMask };
}

export async function logitsCommand(args: ParsedArgs): Promise<{ out: string; shape: number[] }> {
  const inputFile = required(args, 'input');
  const out = required(args, 'out');
  const request = parseLogitsRequest(await readFile(inputFile, 'utf8'), inputFile);
  const checkpoint = await checkpointFrom(args);
  checkIds(request.inputIds, checkpoint.config.vocabSize, `${inputFile} input_ids`);
  const adapterDir = args.flags.get('adapter');
  const adapterFiles = adapterDir === undefined ? null : await readAdapterDir(adapterDir);
  const { data, shape } = await withDecoder(checkpoint, async (decoder) =>
    adapterFiles ? adapterLogits(decoder, adapterFiles, request.inputIds, request.attentionMask) : computeLogits(decoder, request.inputIds, request.attentionMask),
  );
  // Write next to the target and rename, so a failed run never leaves half a file.
  const partial = `${out}.partial`;
  await writeFile(partial, writeSafetensors({ logits: { shape: [...shape], data } }));
  await rename(partial, out);
  return { out, shape: [...shape] };
}

export async function generateCommand(args: ParsedArgs): Promise<{ ids: number[]; stoppedBy: string }> {
  const promptIds = idList(required(args, 'prompt-ids'), 'prompt-ids');
  const checkpoint = await checkpointFrom(args);
  checkIds([promptIds], checkpoint.config.vocabSize, '--prompt-ids');
  const greedy = args.switches.has('greedy');
  const settings = {
    maxNewTokens: intFlag(args, 'max-new-tokens', 32),
    greedy,
    temperature: numberFlag(args, 'temperature'),
    topK: numberFlag(args, 'top-k'),
    topP: numberFlag(args, 'top-p'),
    repetitionPenalty: numberFlag(args, 'repetition-penalty'),
    seed: numberFlag(args, 'seed'),
    eosTokenIds: checkpoint.config.eosTokenIds,
    useCache: !args.switches.has('no-cache'),
  };
  const result = await withDecoder(checkpoint, (decoder) =>
    generate(decoder, promptIds, settings, { decode: (ids) => checkpoint.tokenizer.decode(ids) }),
  );
  return { ids: result.ids, stoppedBy: result.stoppedBy };
}

/** Logits of the base model with an adapter folder applied, read back as host data. */
async function adapterLogits(
  decoder: Decoder,
  files: Map<string, Uint8Array>,
  inputIds: number[][],
  attentionMask?: number[][],
): Promise<{ data: Float32Array; shape: [number, number, number] }> {
  const model = new PeftModel(decoder, readAdapterFolder(files, decoder));
  try {
    return await computeLogits((ids, mask) => model.forward(ids, mask), inputIds, attentionMask);
  } finally {
    model.dispose();
  }
}
