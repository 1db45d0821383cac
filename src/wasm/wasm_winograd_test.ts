import assert from "node:assert/strict";
import {
  ALL_EXTRAS,
  type ConvCpuCase,
  convCpuSetup,
  type ConvFusion,
  fusionName,
  PLAIN,
} from "../ops/_conv_cpu_cases.ts";
import { conv, convGeometry } from "../ops/conv.ts";
import { convTensors } from "../ops/conv_cpu.ts";
import type { TensorType } from "../graph/types.ts";
import { assertClose, TOLERANCES } from "../testing/tolerance.ts";
import { relaxedSimdSupported, wasmSimdSupported } from "./simd_support.ts";
import { DEFAULT_KERNEL, WasmGemm } from "./wasm_gemm.ts";
import { WasmWinograd, winogradOnCpu } from "./wasm_winograd.ts";

/**
 * 3x3 stride-1 geometries: partial 2x2 tiles on both axes with a second quad of tile columns,
 * batch 3 with asymmetric padding and output channels past several panels, a single output
 * (VALID), SAME padding, rows of 3 quads (whole f32x4 stores and a lane-by-lane tail), one
 * input and output channel.
 */
const CASES: ConvCpuCase[] = [
  { name: "17x15 pad 1", x: [1, 5, 17, 15], w: [7, 5, 3, 3], attrs: { pads: [1, 1, 1, 1] } },
  {
    name: "batch 3, pads 0 2 1 0, 70 channels",
    x: [3, 3, 9, 6],
    w: [70, 3, 3, 3],
    attrs: { pads: [0, 2, 1, 0] },
  },
  { name: "VALID, one output", x: [1, 6, 3, 3], w: [4, 6, 3, 3], attrs: {} },
  { name: "SAME_UPPER 5x5", x: [1, 2, 5, 5], w: [3, 2, 3, 3], attrs: { auto_pad: "SAME_UPPER" } },
  { name: "20x45 pad 1", x: [1, 4, 20, 45], w: [9, 4, 3, 3], attrs: { pads: [1, 1, 1, 1] } },
  { name: "one channel", x: [1, 1, 8, 8], w: [1, 1, 3, 3], attrs: { pads: [1, 1, 1, 1] } },
];

const BN_CLIP: ConvFusion = { pre: "bn", bias: true, residual: false, act: "clip" };

/**
 * Instances: the default tile, odd tiles (V panels of 12 and 4 lanes), 3 threads, and a batch
 * split into one set of products per image.
 */
async function instances(): Promise<[string, WasmWinograd][]> {
  const arithmetic = relaxedSimdSupported() ? "f32-fma" : "f32";
  const threaded = new WasmGemm({ mr: 8, nr: 4, chunk: 7, arithmetic }, { threads: 3 });
  assert.ok(await threaded.started(30_000), "3 threads started");
  return [
    ["8x6 default", new WasmWinograd(new WasmGemm({ ...DEFAULT_KERNEL, arithmetic }))],
    [
      "12x5 mc 24 kc 7",
      new WasmWinograd(
        new WasmGemm({ mr: 12, nr: 5, chunk: 3, arithmetic }, { blocking: { mc: 24, kc: 7 } }),
      ),
    ],
    [
      "4x8 no fma",
      new WasmWinograd(new WasmGemm({ mr: 4, nr: 8, chunk: 5, arithmetic: "f32" })),
    ],
    ["8x4 3 threads", new WasmWinograd(threaded)],
    [
      "8x6, one image per set of products",
      new WasmWinograd(new WasmGemm({ ...DEFAULT_KERNEL, arithmetic }), 1),
    ],
  ];
}

Deno.test({
  name: "WasmWinograd matches the reference on odd tiles, padding, batch, extras and threads",
  ignore: !wasmSimdSupported(),
}, async () => {
  for (const [name, winograd] of await instances()) {
    CASES.forEach((c, i) => {
      for (const f of [PLAIN, ALL_EXTRAS, BN_CLIP]) {
        const { node, inputs } = convCpuSetup(1200 + i, c, f);
        const [expected] = conv.reference(node, inputs);
        const y = new Float32Array(expected.data.length).fill(NaN);
        winograd.conv(convGeometry(node, inputs), convTensors(inputs), y);
        const label = `${name}: ${c.name}, ${fusionName(f)}`;
        assertClose(y, expected.data, TOLERANCES.f32Kernel, label);
        const { heap, cache } = winograd.gemm;
        assert.equal(heap.usedBytes, cache.bytes, `${label}: only cached weights stay`);
      }
    });
    winograd.gemm.dispose();
  }
});

Deno.test({
  name: "WasmWinograd transforms and packs each weight array once and reads the current input",
  ignore: !wasmSimdSupported(),
}, () => {
  const winograd = new WasmWinograd(new WasmGemm({ ...DEFAULT_KERNEL, arithmetic: "f32" }));
  const { node, inputs } = convCpuSetup(41, CASES[0], ALL_EXTRAS);
  const g = convGeometry(node, inputs);
  const run = () => {
    const y = new Float32Array(g.n * g.m * g.oh * g.ow);
    winograd.conv(g, convTensors(inputs), y);
    assertClose(y, conv.reference(node, inputs)[0].data, TOLERANCES.f32Kernel, "Winograd conv");
  };
  run();
  const packed = winograd.gemm.cache.bytes;
  assert.ok(packed > 0, "the transformed weights were cached");
  const x = inputs[0]!.data;
  x.forEach((v, i) => (x[i] = -v));
  run();
  assert.equal(winograd.gemm.cache.bytes, packed, "the cached weights were reused");
});

Deno.test("winogradOnCpu takes large 3x3 stride-1 one-group convs only", () => {
  const f32 = (shape: number[]): TensorType => ({ dtype: "f32", shape });
  const takes = (x: number[], w: number[], attrs: Record<string, unknown> = {}) => {
    const node = {
      name: "c",
      op: "Conv",
      inputs: ["x", "w"],
      outputs: ["y"],
      attrs: { pads: [1, 1, 1, 1], ...attrs },
    };
    return winogradOnCpu(convGeometry(node, [f32(x), f32(w)]));
  };
  assert.equal(takes([1, 64, 56, 56], [64, 64, 3, 3]), true, "ResNet 64 @56");
  assert.equal(takes([1, 512, 7, 7], [512, 512, 3, 3]), true, "ResNet 512 @7");
  assert.equal(takes([1, 16, 32, 32], [16, 16, 3, 3]), true, "CIFAR 16 @32");
  assert.equal(takes([1, 8, 16, 16], [8, 8, 3, 3]), false, "8 @16: too small");
  assert.equal(takes([1, 64, 56, 56], [64, 64, 3, 3], { strides: [2, 2] }), false, "stride 2");
  assert.equal(takes([1, 64, 56, 56], [64, 32, 3, 3], { group: 2 }), false, "two groups");
  assert.equal(takes([1, 64, 56, 56], [64, 64, 3, 3], { dilations: [2, 2] }), false, "dilated");
  assert.equal(takes([1, 64, 56, 56], [64, 64, 1, 1], { pads: [0, 0, 0, 0] }), false, "1x1");
});
