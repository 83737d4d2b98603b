// Self-Instruct through the studio worker in Chromium: a run on the tiny-llama fixture completes with
// a decision for every candidate, is reproducible for a seed, leaks no tensors, can be cancelled,
// and the review queue answers. (Filter decisions are pinned exactly in tests/unit/self-instruct.test.ts.)
import { assert, assertEqual, modelFilesBase64, waitForBackend, type BrowserTest } from './harness';

const OPTIONS = { numInstructions: 1, maxRequests: 2, seed: 3, maxNewTokens: { bootstrap: 32, classify: 3, instances: 16 } };

export const tests: BrowserTest[] = [
  {
    name: 'Self-Instruct runs on the loaded model, decides every candidate and repeats itself for a seed',
    async run({ page, baseUrl, log }) {
      await page.goto(`${baseUrl}?view=models`);
      await waitForBackend(page);
      await page.evaluate(async (files) => {
        const decoded = files.map(({ name, base64 }) => {
          const binary = atob(base64);
          const bytes = new Uint8Array(binary.length);
          for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
          return { name, bytes: bytes.buffer };
        });
        await window.hone!.importModel(decoded, 'tiny-llama');
      }, modelFilesBase64('tiny-llama'));

      const outcome = await page.evaluate(async (options) => {
        const remote = window.hone!.remote;
        const before = (await remote.memory()).numTensors;
        const first = await remote.runSelfInstruct(options);
        const second = await remote.runSelfInstruct(options);
        const after = (await remote.memory()).numTensors;
        return { before, after, first, second, last: await remote.lastSelfInstructRun(), queue: await remote.listReviewQueue() };
      }, OPTIONS);
      const { first, second } = outcome;
      log(`backend run: ${first.result.requests.length} prompts, decisions ${first.result.candidates.map((c) => c.decision.reason ?? 'kept').join(', ')}`);
      assertEqual(first.result.status, 'completed', 'run status');
      assert(first.result.candidates.length > 0, 'the run produced no candidate');
      for (const candidate of first.result.candidates) {
        assert(typeof candidate.decision.kept === 'boolean' && candidate.decision.message !== '', `candidate ${candidate.id} has no decision`);
        assert(candidate.decision.kept || candidate.decision.reason !== undefined, `rejected candidate ${candidate.id} has no reason`);
      }
      assertEqual(second.result.candidates, first.result.candidates, 'candidates of the same seed');
      assertEqual(outcome.after, outcome.before, 'tensors after two runs');
      assertEqual(outcome.last?.result.seed, 3, 'last run kept by the worker');
      const keptExamples = first.result.candidates
        .filter((c) => c.decision.kept)
        .reduce((n, c) => n + c.instances.filter((i) => i.decision.kept).length, 0);
      assertEqual(first.queued, keptExamples, 'examples queued by the first run');
      assertEqual(outcome.queue.total, first.queued + second.queued, 'examples in the review queue');
    },
  },
  {
    name: 'Self-Instruct can be cancelled, and the queue refuses an empty selection',
    async run({ page }) {
      const outcome = await page.evaluate(async () => {
        const remote = window.hone!.remote;
        const running = remote.runSelfInstruct({ numInstructions: 50, maxRequests: 200, seed: 1, maxNewTokens: { bootstrap: 64 } });
        await new Promise((resolve) => setTimeout(resolve, 1500));
        const cancelled = await remote.cancelSelfInstruct();
        const run = await running;
        let error = '';
        try {
          await remote.rejectCandidates([]);
        } catch (err) {
          error = (err as Error).message;
        }
        return { cancelled, status: run.result.status, stoppedBecause: run.stoppedBecause, again: await remote.cancelSelfInstruct(), error };
      });
      assertEqual(outcome.cancelled, true, 'cancel while running');
      assertEqual(outcome.status, 'cancelled', 'status of a cancelled run');
      assertEqual(outcome.stoppedBecause, 'cancelled', 'why it stopped');
      assertEqual(outcome.again, false, 'cancel with nothing running');
      assert(/no candidates were selected|review queue is empty/.test(outcome.error), `reject([]) error: ${outcome.error}`);
    },
  },
];
