import assert from "node:assert/strict";
import { cpuThreads, MAX_CPU_THREADS, setCpuThreads } from "./cpu_threads.ts";
import { sharedWasmGemm } from "./wasm_gemm.ts";
import { wasmSimdSupported } from "./simd_support.ts";

Deno.test("setCpuThreads checks its argument and rebuilds the shared kernel", () => {
  const before = cpuThreads();
  assert.ok(before >= 1 && before <= 4, `default ${before}`);
  for (const bad of [0, -1, 1.5, NaN, MAX_CPU_THREADS + 1]) {
    assert.throws(() => setCpuThreads(bad), /CPU threads must be an integer from 1 to 64/);
  }
  try {
    setCpuThreads(1);
    assert.equal(cpuThreads(), 1);
    if (wasmSimdSupported()) {
      const one = sharedWasmGemm()!;
      assert.equal(one.requestedThreads, 1);
      setCpuThreads(2);
      const two = sharedWasmGemm()!;
      assert.notEqual(two, one);
      assert.equal(two.requestedThreads, 2);
      assert.equal(sharedWasmGemm(), two, "kept while the count stays");
    }
  } finally {
    setCpuThreads(before);
  }
});
