import assert from "node:assert/strict";
import { qconvKernelModule } from "./qconv_kernel.ts";
import { wasmSimdSupported } from "./simd_support.ts";

Deno.test({
  name: "Every int8 conv helper module validates (panel widths 1..9) and bad widths throw",
  ignore: !wasmSimdSupported(),
}, () => {
  for (let width = 1; width <= 9; width++) {
    assert.ok(WebAssembly.validate(qconvKernelModule(width)), `width ${width}`);
  }
  assert.throws(() => qconvKernelModule(0), /panel width 0 must be an integer >= 1/);
  assert.throws(() => qconvKernelModule(2.5), RangeError);
});
