import assert from "node:assert/strict";
import { relaxedSimdSupported, wasmSimdSupported } from "../src/wasm/simd_support.ts";
import { CHAINS, UNROLL, WASM_PEAK_LAYOUT as AT, wasmPeakModule } from "./cpu_peak.ts";

Deno.test({
  name: "The wasm peak loop advances every chain n x UNROLL steps of acc * mul + add",
  ignore: !wasmSimdSupported(),
  fn: () => {
    const variants = relaxedSimdSupported() ? [false, true] : [false];
    for (const fused of variants) {
      const memory = new WebAssembly.Memory({ initial: 1 });
      const words = new Float32Array(memory.buffer);
      const [mul, add] = [0.75, 0.5];
      words[AT.mul / 4] = mul;
      words[AT.add / 4] = add;
      const init = Array.from({ length: CHAINS }, (_, c) => Math.fround(1 + 0.37 * c));
      words.set(init, AT.init / 4);
      const module = new WebAssembly.Module(wasmPeakModule(fused));
      const instance = new WebAssembly.Instance(module, { env: { memory } });
      const n = 3;
      (instance.exports.peak as (n: number) => void)(n);
      init.forEach((start, c) => {
        let expected = start;
        for (let i = 0; i < n * UNROLL; i++) expected = Math.fround(expected * mul + add);
        const lanes = words.subarray(AT.out / 4 + 4 * c, AT.out / 4 + 4 * c + 4);
        for (const lane of lanes) {
          assert.ok(
            Math.abs(lane - expected) <= 1e-6 * Math.abs(expected),
            `fused ${fused}, chain ${c}: got ${lane}, expected ${expected}`,
          );
        }
      });
    }
  },
});
