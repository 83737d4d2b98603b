// What the UI shows about a model, built from the store's record. The architecture numbers are
// stored with the record at import time so the Models list never has to read weights.
import type { Checkpoint } from '../src/core/model/checkpoint';
import type { ModelConfig } from '../src/core/model/config';
import type { ModelInput, ModelRecord } from '../src/core/store';

/** The architecture numbers stored with a model record (a slice of the parsed config). */
export type Architecture = Pick<
  ModelConfig,
  'numLayers' | 'hiddenSize' | 'numHeads' | 'numKvHeads' | 'vocabSize' | 'intermediateSize' | 'maxPositions' | 'tieWordEmbeddings'
>;

export interface ModelSummary extends Architecture {
  id: string;
  name: string;
  /** the checkpoint's model_type: gpt2, llama, qwen2 */
  modelType: string;
  family: string;
  /** the weights actually stored, tied embeddings counted once */
  parameterCount: number;
  sizeBytes: number;
  files: string[];
  createdAt: number;
  source: string;
}

/** The store's metadata for a freshly validated checkpoint. */
export function modelInput(checkpoint: Checkpoint, name: string, source: string): ModelInput {
  const c = checkpoint.config;
  const architecture: Architecture = {
    numLayers: c.numLayers,
    hiddenSize: c.hiddenSize,
    numHeads: c.numHeads,
    numKvHeads: c.numKvHeads,
    vocabSize: c.vocabSize,
    intermediateSize: c.intermediateSize,
    maxPositions: c.maxPositions,
    tieWordEmbeddings: c.tieWordEmbeddings,
  };
  let parameterCount = 0;
  for (const { data } of checkpoint.weights.values()) parameterCount += data.length;
  return { name, modelType: c.modelType, family: c.family, parameterCount, architecture: { ...architecture }, source };
}

function numberField(record: ModelRecord, key: keyof Architecture): number {
  const value = record.architecture[key];
  return typeof value === 'number' ? value : NaN;
}

export function summarize(record: ModelRecord): ModelSummary {
  return {
    id: record.id,
    name: record.name,
    modelType: record.modelType,
    family: record.family,
    parameterCount: record.parameterCount,
    numLayers: numberField(record, 'numLayers'),
    hiddenSize: numberField(record, 'hiddenSize'),
    numHeads: numberField(record, 'numHeads'),
    numKvHeads: numberField(record, 'numKvHeads'),
    vocabSize: numberField(record, 'vocabSize'),
    intermediateSize: numberField(record, 'intermediateSize'),
    maxPositions: numberField(record, 'maxPositions'),
    tieWordEmbeddings: record.architecture['tieWordEmbeddings'] === true,
    sizeBytes: record.totalBytes,
    files: record.files.map((f) => f.name),
    createdAt: record.createdAt,
    source: record.source,
  };
}
