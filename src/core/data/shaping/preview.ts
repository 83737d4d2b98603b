// The data studio's template preview: a few examples of a stored dataset rendered the way training
// would see them — through a FLAN-style template zero-shot or k-shot, without a template or with
// the dataset name only (FLAN's ablations), SNI-style with the record's negative examples, or as
// chat messages through the loaded model's chat template. It only reads. An example that cannot be
// rendered the chosen way carries the reason instead of failing the whole preview; a bad request
// (unknown dataset or template, k out of range) throws ShapeError.
// k-shot exemplars come from the same task as the query, as FLAN's few-shot templates do, and must
// fit the query's template (with or without a context, templates.templateFits).
import { Rng } from '../../rng';
import { getDataset, getExamples, type ExampleRecord, type HoneDb } from '../../store';
import type { Turn } from '../record';
import { ShapeError } from './common';
import {
  getTemplate,
  listTemplateSets,
  pickTemplate,
  renderChat,
  renderExample,
  renderSni,
  TemplateError,
  templateFits,
  type RenderedExample,
  type RenderMode,
  type Template,
} from '../templates';

export type PreviewMode = RenderMode | 'sni';
export const PREVIEW_MODES: readonly PreviewMode[] = ['instructions', 'no-template', 'dataset-name', 'sni'];
export const MAX_PREVIEW_SAMPLES = 50;
export const MAX_PREVIEW_SHOTS = 16;
/** Examples read for queries and shots: enough for varied shots, bounded for big datasets. */
const POOL = 1000;

export interface TemplatePreviewRequest {
  /** only examples of this task; all examples when absent */
  task?: string;
  mode: PreviewMode;
  /** exemplars before each query: 0 = zero-shot, k = k-shot */
  shots: number;
  /** examples to render (1–50), the dataset's first ones */
  limit: number;
  /** always this template ("closed_qa/3"); otherwise a seeded random fitting one per example */
  templateId?: string;
  /** pick among the turned-around templates instead (FLAN's inverted tasks) */
  inverted?: boolean;
  /** render through the loaded model's chat template */
  chat?: boolean;
  /** template and shot choice; default 0 */
  seed?: number;
}

export interface TemplatePreviewSample {
  exampleId: string;
  position: number;
  task?: string;
  templateId?: string;
  /** exemplars actually shown: fewer than asked when fewer examples of the task fit the template */
  shots: number;
  prompt: string;
  completion: string;
  /** the chat messages, when rendered for a chat model */
  messages?: Turn[];
  /** why this example cannot be rendered this way (prompt and completion are then empty) */
  error?: string;
}

export interface TemplatePreview {
  samples: TemplatePreviewSample[];
  /** examples looked at for queries and shots */
  pool: number;
}

/** Renders messages through a chat template (the tokenizer's applyChatTemplate). */
export type ChatRenderer = (messages: Turn[], addGenerationPrompt: boolean) => string;

export interface TemplateSummary {
  id: string;
  prompt: string;
  completion: string;
  inverted: boolean;
}

export interface TemplateSetSummary {
  task: string;
  description: string;
  templates: TemplateSummary[];
}

/** Every template set, for choosing a template in the UI. */
export function templateCatalogue(): TemplateSetSummary[] {
  return listTemplateSets().map((set) => ({
    task: set.task,
    description: set.description,
    templates: set.templates.map((t) => ({ id: t.id, prompt: t.prompt, completion: t.completion, inverted: t.inverted ?? false })),
  }));
}

function fail(message: string): never {
  throw new ShapeError(`template preview: ${message}`);
}

function checkRequest(request: TemplatePreviewRequest, chat: ChatRenderer | undefined): Template | undefined {
  if (!PREVIEW_MODES.includes(request?.mode)) fail(`unknown mode “${String(request?.mode)}” (known: ${PREVIEW_MODES.join(', ')})`);
  const { shots, limit, seed } = request;
  if (!Number.isInteger(shots) || shots < 0 || shots > MAX_PREVIEW_SHOTS) fail(`shots must be a whole number from 0 to ${MAX_PREVIEW_SHOTS}, got ${String(shots)}`);
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_PREVIEW_SAMPLES) fail(`limit must be a whole number from 1 to ${MAX_PREVIEW_SAMPLES}, got ${String(limit)}`);
  if (seed !== undefined && !Number.isFinite(seed)) fail(`seed must be a number, got ${String(seed)}`);
  if (request.chat && !chat) fail('chat rendering needs a loaded model that ships a chat template');
  if (request.templateId === undefined || request.templateId === '') return undefined;
  try {
    return getTemplate(request.templateId);
  } catch (error) {
    if (error instanceof TemplateError) fail(error.message);
    throw error;
  }
}

/** A stored example; importers only store the roles record.ts knows, so its turns are Turns. */
type StoredExample = Omit<ExampleRecord, 'conversation'> & { conversation?: Turn[] };

/** Whether `shot` can be an exemplar for a query of `task` rendered through `template` in `mode`. */
function canBeShot(shot: StoredExample, task: string | undefined, template: Template | undefined, mode: PreviewMode): boolean {
  if (shot.task !== task || shot.conversation || shot.output === undefined) return false;
  if (mode !== 'instructions') return true;
  return shot.instruction !== '' && template !== undefined && templateFits(template, shot);
}

/** The first `k` of a seeded shuffle of `pool` (partial Fisher–Yates), so shots are distinct. */
function sample<T>(pool: T[], k: number, rng: Rng): T[] {
  const n = Math.min(k, pool.length);
  for (let i = 0; i < n; i++) {
    const j = i + rng.int(pool.length - i);
    [pool[i], pool[j]] = [pool[j], pool[i]];
  }
  return pool.slice(0, n);
}

/** Splits chat messages into the prompt the model sees (generation prompt included) and the answer. */
function chatExample(messages: Turn[], chat: ChatRenderer): RenderedExample {
  const last = messages[messages.length - 1];
  if (last?.role !== 'assistant') return { prompt: chat(messages, true), completion: '' };
  const prompt = chat(messages.slice(0, -1), true);
  const full = chat(messages, false);
  return { prompt, completion: full.startsWith(prompt) ? full.slice(prompt.length) : last.content };
}

/**
 * Renders the first `limit` examples (of `task`, when given) of a dataset as the request says.
 * `chat` is the loaded model's chat template; without one, `chat: true` is refused.
 */
export async function previewTemplates(
  db: HoneDb,
  datasetId: string,
  request: TemplatePreviewRequest,
  chat?: ChatRenderer,
): Promise<TemplatePreview> {
  const fixed = checkRequest(request, chat);
  const dataset = await getDataset(db, datasetId);
  if (!dataset) fail(`no dataset with id “${datasetId}” is stored; it may have been deleted — reload the list and choose another`);
  const task = request.task === '' ? undefined : request.task;
  const pool = (await getExamples(db, dataset.id, task === undefined ? { limit: POOL } : { task, limit: POOL })) as StoredExample[];
  if (pool.length === 0) fail(`dataset “${dataset.name}” has no examples${task !== undefined ? ` of task “${task}”` : ''}`);
  const rng = new Rng(request.seed ?? 0);
  const { mode } = request;

  const samples = pool.slice(0, request.limit).map((query): TemplatePreviewSample => {
    const sampleOf = (fields: Partial<TemplatePreviewSample>): TemplatePreviewSample => {
      const s: TemplatePreviewSample = { exampleId: query.id, position: query.position, shots: 0, prompt: '', completion: '', ...fields };
      if (query.task !== undefined) s.task = query.task;
      return s;
    };
    if (query.conversation && !(request.chat && mode !== 'sni')) {
      return sampleOf({ error: `a ${query.conversation.length}-turn conversation: it has no template rendering; turn on chat rendering (a model with a chat template) to see it` });
    }
    let template: Template | undefined;
    try {
      if (mode === 'instructions' && !query.conversation) template = fixed ?? pickTemplate(query, rng, { inverted: request.inverted });
      const candidates = query.conversation ? [] : pool.filter((e) => e !== query && canBeShot(e, query.task, template, mode));
      const shots = sample(candidates, request.shots, rng);
      const base = { shots: shots.length, ...(template ? { templateId: template.id } : {}) };
      let rendered: RenderedExample;
      let messages: Turn[] | undefined;
      if (mode === 'sni') {
        rendered = renderSni(query, { positives: shots.map((s) => ({ input: s.context, output: s.output! })) });
        if (request.chat) messages = [{ role: 'user', content: rendered.prompt }, { role: 'assistant', content: rendered.completion }];
      } else {
        const opts = { mode, shots, taskName: query.task ?? dataset.name };
        if (request.chat) messages = renderChat(query, template, opts).messages;
        else rendered = renderExample(query, template, opts);
      }
      if (messages) {
        try {
          rendered = chatExample(messages, chat!);
        } catch (error) {
          return sampleOf({ ...base, messages, error: `the model's chat template failed: ${(error as Error).message}` });
        }
        return sampleOf({ ...base, ...rendered, messages });
      }
      return sampleOf({ ...base, ...rendered! });
    } catch (error) {
      if (error instanceof TemplateError) return sampleOf({ ...(template ? { templateId: template.id } : {}), error: error.message });
      throw error;
    }
  });
  return { samples, pool: pool.length };
}
