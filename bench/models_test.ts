import assert from "node:assert/strict";
import type { BenchModel, Runtime } from "./model_runtimes.ts";
import { measure, type ModelResult, modelTable } from "./models.ts";

const model: BenchModel = {
  name: "m",
  onnx: new Uint8Array(),
  resin: { unsupported: "no" },
  inputName: "x",
  inputShape: [1, 2],
  inputType: "f32",
};

/** A runtime that counts its calls and fails where told. */
function fakeRuntime(fail?: "load" | "run") {
  const calls = { load: 0, run: 0, release: 0 };
  const runtime: Runtime = {
    id: `fake-${fail ?? "ok"}`,
    unsupported: () => undefined,
    load: () => {
      calls.load++;
      if (fail === "load") return Promise.reject(new Error("cannot load"));
      return Promise.resolve({
        run: (input: Float32Array) => {
          calls.run++;
          if (fail === "run") return Promise.reject(new Error("cannot run"));
          return Promise.resolve(input.map((v) => 2 * v));
        },
        release: () => {
          calls.release++;
          return Promise.resolve();
        },
      });
    },
  };
  return { runtime, calls };
}

Deno.test("measure times the cold run, warms up, times the steady runs and releases", async () => {
  const { runtime, calls } = fakeRuntime();
  const { result, output } = await measure(runtime, model, new Float32Array([1, 2]), {
    runs: 4,
    warmup: 2,
    seed: 0,
    batch: 1,
  });
  assert.equal(result.status, "ok");
  assert.deepEqual([...output!], [2, 4]);
  assert.deepEqual(calls, { load: 1, run: 1 + 2 + 4, release: 1 });
  assert.equal(result.steady!.count, 4);
  assert.ok(result.coldMs! >= 0 && result.steady!.min >= 0);
});

Deno.test("measure reports failures and skips with their reasons", async () => {
  const config = { runs: 1, warmup: 0, seed: 0, batch: 1 };
  const input = new Float32Array(2);
  const load = fakeRuntime("load");
  assert.deepEqual((await measure(load.runtime, model, input, config)).result, {
    runtime: "fake-load",
    status: "failed",
    reason: "cannot load",
  });
  const run = fakeRuntime("run");
  const failed = await measure(run.runtime, model, input, config);
  assert.equal(failed.result.reason, "cannot run");
  assert.equal(run.calls.release, 1);
  const skipped: Runtime = { ...run.runtime, id: "skip", unsupported: () => "no int8 kernels" };
  assert.deepEqual((await measure(skipped, model, input, config)).result, {
    runtime: "skip",
    status: "skipped",
    reason: "no int8 kernels",
  });
});

Deno.test("modelTable gives each runtime's median over every peer's and lists the others", () => {
  const steady = (median: number) => ({ median, min: median, p90: median, count: 1 });
  const result: ModelResult = {
    name: "m",
    input: { name: "x", shape: [1, 2], range: [0, 1] },
    results: [
      { runtime: "ort-node", status: "ok", coldMs: 5, steady: steady(10) },
      { runtime: "resin-gpu", status: "ok", coldMs: 7, steady: steady(40), relL2: 1e-6 },
      { runtime: "resin-cpu", status: "failed", reason: "boom" },
    ],
  };
  const lines = modelTable(result).split("\n");
  const cells = (line: string) => line.split("|").slice(1, -1).map((c) => c.trim());
  assert.deepEqual(cells(lines[0]).slice(-2), ["x ort-node", "x resin-gpu"]);
  assert.deepEqual(cells(lines[2]).slice(-2), ["1.00x", "0.250x"]);
  assert.deepEqual(cells(lines[3]).slice(-2), ["4.00x", "1.00x"]);
  assert.equal(cells(lines[2])[5], "reference");
  assert.equal(cells(lines[3])[5], "1.0e-6");
  assert.equal(lines[4], "resin-cpu failed: boom");
});
