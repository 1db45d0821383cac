import assert from "node:assert/strict";
import {
  ALL_EXTRAS,
  CONV_CPU_CASES,
  convCpuSetup,
  fusionName,
  PLAIN,
} from "../ops/_conv_cpu_cases.ts";
import { conv, convGeometry } from "../ops/conv.ts";
import { convTensors } from "../ops/conv_cpu.ts";
import { assertClose, TOLERANCES } from "../testing/tolerance.ts";
import { relaxedSimdSupported, wasmSimdSupported } from "./simd_support.ts";
import { WasmConv } from "./wasm_conv.ts";
import { DEFAULT_KERNEL, WasmGemm } from "./wasm_gemm.ts";

/** Conv instances under test: the default tile, and odd tiles and blocks to hit the edges. */
function instances(): [string, WasmConv][] {
  const arithmetic = relaxedSimdSupported() ? "f32-fma" : "f32";
  return [
    ["8x6 default", new WasmConv(new WasmGemm({ ...DEFAULT_KERNEL, arithmetic }))],
    [
      "12x5 chunk 3 mc 24 kc 7",
      new WasmConv(
        new WasmGemm({ mr: 12, nr: 5, chunk: 3, arithmetic }, { blocking: { mc: 24, kc: 7 } }),
      ),
    ],
    [
      "4x8 no fma mc 4 kc 16",
      new WasmConv(
        new WasmGemm({ mr: 4, nr: 8, chunk: 5, arithmetic: "f32" }, {
          blocking: { mc: 4, kc: 16 },
        }),
      ),
    ],
  ];
}

Deno.test({
  name: "WasmConv matches the reference for every tile on every path's geometry",
  ignore: !wasmSimdSupported(),
}, () => {
  for (const [name, wasmConv] of instances()) {
    CONV_CPU_CASES.forEach((c, i) => {
      for (const f of [PLAIN, ALL_EXTRAS]) {
        const { node, inputs } = convCpuSetup(900 + i, c, f);
        const [expected] = conv.reference(node, inputs);
        const y = new Float32Array(expected.data.length).fill(NaN);
        wasmConv.conv(convGeometry(node, inputs), convTensors(inputs), y);
        const label = `${name}: ${c.name}, ${fusionName(f)}`;
        assertClose(y, expected.data, TOLERANCES.f32Kernel, label);
        const { heap, cache } = wasmConv.gemm;
        assert.equal(heap.usedBytes, cache.bytes, `${label}: only cached weights stay`);
      }
    });
  }
});

Deno.test({
  name: "WasmConv packs each weight array once and reads the current input every run",
  ignore: !wasmSimdSupported(),
}, () => {
  const wasmConv = new WasmConv(new WasmGemm({ ...DEFAULT_KERNEL, arithmetic: "f32" }));
  const c = CONV_CPU_CASES.find((c) => c.name.startsWith("group 3"))!;
  const { node, inputs } = convCpuSetup(31, c, ALL_EXTRAS);
  const g = convGeometry(node, inputs);
  const run = () => {
    const y = new Float32Array(g.n * g.m * g.oh * g.ow);
    wasmConv.conv(g, convTensors(inputs), y);
    assertClose(y, conv.reference(node, inputs)[0].data, TOLERANCES.f32Kernel, "group conv");
  };
  run();
  const packed = wasmConv.gemm.cache.bytes;
  assert.ok(packed > 0, "the weights were cached");
  const x = inputs[0]!.data;
  x.forEach((v, i) => (x[i] = -v));
  run();
  assert.equal(wasmConv.gemm.cache.bytes, packed, "the cached weights were reused");
});
