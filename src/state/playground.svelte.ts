// The Playground's state: the prompt, generation settings, the streamed output and its speed.
import type { GenerateSettings, GenerationResult } from '../studio-client';
import { errorMessage, type Studio } from './studio.svelte';

export interface PlaygroundSettings {
  maxNewTokens: number;
  greedy: boolean;
  temperature: number;
  /** 0 = off */
  topK: number;
  /** 1 = off */
  topP: number;
  /** 1 = off */
  repetitionPenalty: number;
  /** one per line; "\n" written as a backslash-n stands for a newline */
  stopStrings: string;
  /** empty = a fresh random seed each run */
  seed: string;
}

export const DEFAULT_SETTINGS: PlaygroundSettings = {
  maxNewTokens: 32,
  greedy: false,
  temperature: 0.8,
  topK: 40,
  topP: 0.95,
  repetitionPenalty: 1,
  stopStrings: '',
  seed: '',
};

export function toGenerateSettings(s: PlaygroundSettings): GenerateSettings {
  const stopStrings = s.stopStrings
    .split('\n')
    .map((line) => line.replaceAll('\\n', '\n'))
    .filter((line) => line.length > 0);
  const seed = s.seed.trim() === '' ? undefined : Number(s.seed);
  if (seed !== undefined && !Number.isFinite(seed)) throw new Error(`Seed must be a number, got "${s.seed}"`);
  return {
    maxNewTokens: s.maxNewTokens,
    greedy: s.greedy,
    temperature: s.temperature,
    topK: s.topK,
    topP: s.topP,
    repetitionPenalty: s.repetitionPenalty,
    stopStrings,
    seed,
  };
}

export class PlaygroundState {
  prompt = $state('');
  settings = $state<PlaygroundSettings>({ ...DEFAULT_SETTINGS });
  output = $state('');
  tokenCount = $state(0);
  running = $state(false);
  error = $state<string | null>(null);
  result = $state.raw<GenerationResult | null>(null);
  #startedAt = 0;
  #now = $state(0);
  readonly tokensPerSecond = $derived.by(() => {
    if (this.result) return this.result.tokensPerSecond;
    const seconds = (this.#now - this.#startedAt) / 1000;
    return seconds > 0 ? this.tokenCount / seconds : 0;
  });
  readonly #studio: Studio;
  #generation: AbortController | null = null;

  constructor(studio: Studio) {
    this.#studio = studio;
  }

  async generate(): Promise<void> {
    if (this.running) return;
    this.error = null;
    this.output = '';
    this.tokenCount = 0;
    this.result = null;
    this.running = true;
    this.#startedAt = performance.now();
    this.#now = this.#startedAt;
    try {
      const settings = toGenerateSettings(this.settings);
      const controller = (this.#generation = new AbortController());
      const onProgress = ({ text }: { text: string }) => {
        this.output += text;
        this.tokenCount += 1;
        this.#now = performance.now();
      };
      this.result = await this.#studio.client.generate(this.prompt, settings, { onProgress, signal: controller.signal });
      this.output = this.result.text;
    } catch (err) {
      this.error = `Generation failed: ${errorMessage(err)}`;
    } finally {
      this.running = false;
      this.#generation = null;
    }
  }

  /** Stops a running generation; what was generated so far stays (stoppedBy 'cancel'). */
  stop(): void {
    this.#generation?.abort();
  }
}
