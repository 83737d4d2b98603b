// Hone's WGSL kernels (src/core/kernels/webgpu) on WebGPU against the plain tfjs compositions they
// replace: values and gradients within 1e-5 relative, RMSNorm / SwiGLU / RoPE / AdamW / LoRA / the
// step statistics one by one, one hone-micro LoRA step (loss and every gradient) and two whole
// clipped train steps (results and weights) through the real call sites. The harness
// (kernels/webgpu/parity.ts) is bundled here with Vite and run on the page's main thread, which
// reaches WebGPU like the worker does (SwiftShader here); the shapes are tiny.
import { fileURLToPath } from 'node:url';
import { build, type Rollup } from 'vite';
import { assert, assertEqual, type BrowserTest } from './harness';
import type { ParityResult } from '../../src/core/kernels/webgpu/parity';

const root = fileURLToPath(new URL('../../', import.meta.url));
const ENTRY = 'virtual:hone-webgpu-parity';

declare global {
  interface Window {
    honeWebgpuParity?: () => Promise<{ backend: string; results: ParityResult[] } | { error: string }>;
  }
}

/** The harness and tfjs with its webgpu backend as one ES module, in memory. */
async function bundleHarness(): Promise<string> {
  const output = (await build({
    configFile: false,
    root,
    logLevel: 'warn',
    plugins: [
      {
        name: 'hone-webgpu-parity-entry',
        resolveId: (id) => (id === ENTRY ? `\0${ENTRY}` : null),
        load: (id) =>
          id === `\0${ENTRY}`
            ? `import * as tf from '@tensorflow/tfjs';
               import '@tensorflow/tfjs-backend-webgpu';
               import { runWebgpuKernelParity } from '${root}src/core/kernels/webgpu/parity.ts';
               window.honeWebgpuParity = async () => {
                 if (!navigator.gpu || !(await navigator.gpu.requestAdapter())) return { error: 'no WebGPU adapter' };
                 await tf.setBackend('webgpu');
                 return { backend: tf.getBackend(), results: await runWebgpuKernelParity() };
               };`
            : null,
      },
    ],
    build: { write: false, minify: false, rollupOptions: { input: ENTRY, output: { format: 'es', codeSplitting: false } } },
  })) as Rollup.RollupOutput | Rollup.RollupOutput[];
  const outputs = Array.isArray(output) ? output : [output];
  const chunk = outputs.flatMap((o) => o.output).find((c): c is Rollup.OutputChunk => c.type === 'chunk' && c.isEntry);
  if (!chunk) throw new Error('webgpu-kernels.spec: Vite produced no entry chunk for the parity harness');
  return chunk.code;
}

export const tests: BrowserTest[] = [
  {
    name: 'WGSL kernels (RMSNorm, SwiGLU, RoPE, attention, cross-entropy, gradient norm, step statistics, AdamW with clipping and packed moments, LoRA up-projection) and hone-micro LoRA steps equal the tfjs compositions within 1e-5 on WebGPU',
    async run({ page, baseUrl, log }) {
      // a WGSL compile or binding error only surfaces as a console warning, and the dispatch then
      // leaves its output buffer as it was: any such message fails the test
      const gpuErrors: string[] = [];
      page.on('console', (m) => {
        if (/invalid|error|binding|WGSL|shader/i.test(m.text()) && m.type() !== 'log') gpuErrors.push(m.text().split('\n')[0]);
      });
      const code = await bundleHarness();
      // same origin as the app (a secure context: navigator.gpu exists), without starting the app
      await page.goto(`${baseUrl}?view=models`);
      await page.setContent('<!doctype html><title>webgpu kernels</title>');
      // the app's CSP allows scripts from 'self' and blob: only, so the module goes in as a blob URL
      await page.evaluate(async (source) => {
        const url = URL.createObjectURL(new Blob([source], { type: 'text/javascript' }));
        await import(/* @vite-ignore */ url);
      }, code);
      const outcome = await page.evaluate(() => window.honeWebgpuParity!());
      assert(!('error' in outcome), `WebGPU parity harness: ${'error' in outcome ? outcome.error : ''}`);
      assertEqual(outcome.backend, 'webgpu', 'backend the harness ran on');
      for (const r of outcome.results) log(`${r.name}: relative error ${r.relativeError.toExponential(2)}, tensors leaked ${r.tensorsLeaked}`);
      assertEqual(
        outcome.results.map((r) => r.name),
        ['HoneRmsNorm, frozen weight', 'HoneRmsNorm, trainable weight', 'HoneSwiGlu', 'HoneRope', 'attention (GQA, masked)', 'attention rows (GQA, masked)', 'attention (GQA, unmasked)', 'attention rows (GQA, unmasked)', 'cross-entropy (loss.ts)', 'gradient norm (clip.ts)', 'AddN of 16 tensors', 'HoneAdamW, two steps', 'AdamW with the clip coefficient, two steps', 'AdamW state, saved and loaded between steps', 'AdamW, 8 parameters (2 moment groups), one without a gradient in step 2', 'LoRA up-projection', 'step statistics, 18 tensors', 'step statistics, 60 tensors', 'non-finite weights and gradients', 'hone-micro LoRA step: loss and every gradient', 'hone-micro LoRA, two clipped train steps: results and weights'],
        'checks run',
      );
      assertEqual(gpuErrors, [], 'WebGPU errors on the console');
      for (const r of outcome.results) {
        assert(r.relativeError <= 1e-5, `${r.name}: relative error ${r.relativeError} > 1e-5`);
        assertEqual(r.tensorsLeaked, 0, `${r.name}: tensors leaked`);
      }
    },
  },
];
