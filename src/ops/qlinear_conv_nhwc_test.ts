import assert from "node:assert/strict";
import { runNodeOnGpu } from "../executor/gpu_node_runner.ts";
import { makeTensor, type Node, type Tensor } from "../graph/types.ts";
import { gpuTest, withTextureRows } from "../testing/gpu.ts";
import { randomTensor, seededRandom } from "../testing/random.ts";
import { assertClose, TOLERANCES } from "../testing/tolerance.ts";
import { scalar } from "./_int8_testing.ts";
import { packNhwc } from "./pack_nhwc.ts";
import { qlinearAdd } from "./qlinear_add.ts";
import { qlinearAddTable } from "./qlinear_add_lut.ts";
import { qlinearConv } from "./qlinear_conv.ts";
import {
  nhwcConvGeometry,
  qconvNhwcTypeScript,
  qconvTensors,
  qlinearConvNhwc,
  type ResidualRole,
} from "./qlinear_conv_nhwc.ts";
import { packQLinearConv } from "./qlinear_conv_pack.ts";
import { QCONV_CASES, qconvNode, qconvOperands } from "./_qconv_cases.ts";
import { unpackNhwc } from "./unpack_nhwc.ts";
import { wasmSimdSupported } from "../wasm/simd_support.ts";
import { WasmGemm } from "../wasm/wasm_gemm.ts";
import { INT8_KERNEL, qconvWinogradComputes, WasmQConv } from "../wasm/wasm_qconv.ts";

/** A case lowered (`c`, by default case `index`): the NHWC4 input, the node, its operands. */
function lower(index: number, residual: ResidualRole = "none", c = QCONV_CASES[index]) {
  const node = qconvNode(c);
  const operands = qconvOperands(c, index + 1).slice(0, node.inputs.length);
  const packed = packQLinearConv(node, operands);
  const xzp = operands[2]!.data[0];
  const pack: Node = {
    name: "pack",
    op: "PackNhwc",
    inputs: ["x"],
    outputs: ["xp"],
    attrs: { pad_value: xzp },
  };
  const [xp] = packNhwc.reference(pack, [operands[0]]);
  const inputs: (Tensor | undefined)[] = [
    xp,
    packed.weights,
    packed.bias,
    packed.scale,
    packed.zeroPoints,
  ];
  const names = ["xp", "w", "b", "s", packed.zeroPoints ? "z" : ""];
  const lowered: Node = {
    name: `${c.name} nhwc`,
    op: "QLinearConvNhwc",
    inputs: names,
    outputs: ["y"],
    attrs: { ...packed.attrs },
  };
  return { c, node, operands, packed, inputs, lowered, residual };
}

function unpack(t: Tensor, channels: number): Tensor {
  const node: Node = {
    name: "unpack",
    op: "UnpackNhwc",
    inputs: ["t"],
    outputs: ["u"],
    attrs: { channels },
  };
  return unpackNhwc.reference(node, [t])[0];
}

Deno.test("QLinearConvNhwc with packed weights equals QLinearConv on every case", () => {
  for (let i = 0; i < QCONV_CASES.length; i++) {
    const { c, node, operands, packed, inputs, lowered } = lower(i);
    const [expected] = qlinearConv.reference(node, operands);
    const [actual] = qlinearConvNhwc.reference(lowered, inputs);
    assertClose(unpack(actual, packed.channels).data, expected.data, TOLERANCES.exact, c.name);
  }
});

/** Adds a residual operand and table to a lowered case; returns the QLinearAdd it fuses. */
function withResidual(
  l: ReturnType<typeof lower>,
  role: Exclude<ResidualRole, "none">,
  seed: number,
) {
  const [y] = qlinearConv.reference(l.node, l.operands);
  const rand = seededRandom(seed);
  const r = randomTensor(rand, y.dtype, y.shape, ...(y.dtype === "u8" ? [0, 256] : [-128, 128]));
  const params = (
    zp: number,
  ) => [scalar("f32", Math.fround(0.01 + 0.05 * rand())), scalar(y.dtype, zp)];
  const [a, b] = role === "first" ? [r, y] : [y, r];
  const addInputs = [a, ...params(5), b, ...params(-3 + 20), ...params(9)];
  const addNode: Node = {
    name: "add",
    op: "QLinearAdd",
    inputs: ["a", "as", "az", "b", "bs", "bz", "cs", "cz"],
    outputs: ["c"],
    attrs: {},
  };
  const [expected] = qlinearAdd.reference(addNode, addInputs);
  const table = qlinearAddTable(addInputs, { a: a.shape, b: b.shape });
  const pad: Node = {
    name: "pack",
    op: "PackNhwc",
    inputs: ["r"],
    outputs: ["rp"],
    attrs: { pad_value: 0 },
  };
  const [rp] = packNhwc.reference(pad, [r]);
  const lowered: Node = {
    ...l.lowered,
    inputs: [...l.lowered.inputs, "r", "t"],
    attrs: { ...l.lowered.attrs, residual: role },
  };
  return { lowered, inputs: [...l.inputs, rp, table], expected };
}

Deno.test("QLinearConvNhwc CPU kernels (WebAssembly, TypeScript) equal the reference", async () => {
  // On 2 threads, and on 2 threads with integer Winograd for every 3x3 conv it can compute.
  const threaded = wasmSimdSupported()
    ? new WasmQConv(new WasmGemm(INT8_KERNEL, { threads: 2 }))
    : undefined;
  const winograd = threaded && new WasmQConv(threaded.gemm, { winograd: "always" });
  if (threaded) assert.ok(await threaded.gemm.started(30_000), "2 threads started");
  /** A WebAssembly kernel, called as `cpu` calls it. */
  const on = (qconv: WasmQConv | undefined) => (node: Node, inputs: (Tensor | undefined)[]) => {
    const g = nhwcConvGeometry(node, inputs);
    if (!qconv || (g.depthwise && g.zeroPoints)) return qlinearConvNhwc.cpu!(node, inputs);
    const y = makeTensor(g.dtype, [g.n, g.oh, g.ow, g.mp]);
    qconv.conv(g, qconvTensors(inputs), y.data as Uint8Array | Int8Array);
    return [y];
  };
  const winogradCases = QCONV_CASES.filter((_, i) => {
    const l = lower(i);
    return qconvWinogradComputes(nhwcConvGeometry(l.lowered, l.inputs), qconvTensors(l.inputs));
  });
  assert.ok(winogradCases.length >= 4, `${winogradCases.length} cases take integer Winograd`);
  const kernels = [
    ["cpu", (node: Node, inputs: (Tensor | undefined)[]) => qlinearConvNhwc.cpu!(node, inputs)],
    ["WebAssembly on 2 threads", on(threaded)],
    ["WebAssembly integer Winograd on 2 threads", on(winograd)],
    [
      "TypeScript",
      (node: Node, inputs: (Tensor | undefined)[]) =>
        qconvNhwcTypeScript(nhwcConvGeometry(node, inputs), inputs),
    ],
  ] as const;
  for (let i = 0; i < QCONV_CASES.length; i++) {
    for (const role of ["none", "first", "second"] as const) {
      const l = lower(i);
      const { lowered, inputs } = role === "none" ? l : withResidual(l, role, 300 + i);
      const [expected] = qlinearConvNhwc.reference(lowered, inputs);
      for (const [kernel, run] of kernels) {
        const [actual] = run(lowered, inputs);
        assertClose(actual.data, expected.data, TOLERANCES.exact, `${kernel} ${l.c.name} ${role}`);
      }
    }
  }
  threaded?.gemm.dispose();
});

Deno.test("QLinearConvNhwc with a fused residual table equals QLinearConv then QLinearAdd", () => {
  for (const [i, role] of [[0, "first"], [3, "second"], [10, "first"]] as const) {
    const l = lower(i);
    const { lowered, inputs, expected } = withResidual(l, role, 100 + i);
    const [actual] = qlinearConvNhwc.reference(lowered, inputs);
    assertClose(
      unpack(actual, l.packed.channels).data,
      expected.data,
      TOLERANCES.exact,
      `${l.c.name} ${role}`,
    );
  }
});

gpuTest("QLinearConvNhwc GPU kernels match the reference on every case", async ({ gpu, cache }) => {
  // As a GPU (the direct kernel) and as a CPU-like adapter (the register GEMM for dense convs).
  for (const isFallbackAdapter of [false, true]) {
    const device = { ...gpu, isFallbackAdapter };
    const kernel = isFallbackAdapter ? "register GEMM" : "direct";
    for (let i = 0; i < QCONV_CASES.length; i++) {
      const { c, inputs, lowered } = lower(i);
      const [actual] = await runNodeOnGpu(device, lowered, inputs, cache);
      const [expected] = qlinearConvNhwc.reference(lowered, inputs);
      assertClose(actual.data, expected.data, TOLERANCES.exact, `GPU ${kernel} ${c.name}`);
    }
    for (const [i, role] of [[0, "first"], [3, "second"], [10, "first"]] as const) {
      const l = lower(i);
      const { lowered, inputs } = withResidual(l, role, 200 + i);
      const [actual] = await runNodeOnGpu(device, lowered, inputs, cache);
      const [expected] = qlinearConvNhwc.reference(lowered, inputs);
      assertClose(
        actual.data,
        expected.data,
        TOLERANCES.exact,
        `GPU ${kernel} ${l.c.name} residual ${role}`,
      );
    }
  }
});

gpuTest(
  "QLinearConvNhwc register GEMM reads its weights from a texture over several rows, or from their buffer where no texture fits",
  async ({ gpu, cache }) => {
    const device = { ...gpu, isFallbackAdapter: true };
    const index = QCONV_CASES.findIndex((c) => c.name === "wide 3x3 C=132");
    // 60 output channels: 15 channel quads x 297 depth words = 4455 texels, 2 texture rows.
    const { inputs, lowered } = lower(index, "none", { ...QCONV_CASES[index], m: 60 });
    const types = inputs.map((t) => t && { dtype: t.dtype, shape: t.shape });
    const [expected] = qlinearConvNhwc.reference(lowered, inputs);
    const textureRows = [[gpu.device.limits.maxTextureDimension2D, true], [2, false]] as const;
    for (const [rows, inTexture] of textureRows) {
      const plan = qlinearConvNhwc.gpu!({
        node: lowered,
        inputs: types,
        outputs: qlinearConvNhwc.inferTypes(lowered, types),
        limits: withTextureRows(gpu, rows),
        features: gpu.features,
        isFallbackAdapter: true,
        storage: "f32",
      });
      const label = `${rows} texture rows`;
      const weights = plan.derived?.[0];
      assert.equal(weights?.texture, inTexture ? "rgba32uint" : undefined, label);
      if (weights) assert.ok(weights.bytes / 16 > 4096, label);
      assert.match(plan.programs[0].key, inTexture ? /_b-quad_/ : /_b-k4_/, label);
      const [actual] = await runNodeOnGpu(device, lowered, inputs, cache, "f32", plan);
      assertClose(actual.data, expected.data, TOLERANCES.exact, label);
    }
  },
);

Deno.test({
  name: "QLinearConvNhwc integer Winograd is exact on extreme bytes and weights (C=64, 512)",
  ignore: !wasmSimdSupported(),
}, () => {
  const qconv = new WasmQConv(new WasmGemm(INT8_KERNEL, { threads: 1 }), { winograd: "always" });
  for (const [i, [cp, size, mp]] of [[64, 9, 12], [512, 5, 8]].entries()) {
    const rand = seededRandom(500 + i);
    const pick = (a: number, b: number) => () => (rand() < 0.5 ? a : b);
    const x = makeTensor(
      "u8",
      [1, size, size, cp],
      Array.from({ length: size * size * cp }, pick(0, 255)),
    );
    const w = makeTensor(
      "i8",
      [mp, 3, 3, cp],
      Array.from({ length: mp * 9 * cp }, pick(-128, 127)),
    );
    const bias = makeTensor(
      "i32",
      [mp],
      Array.from({ length: mp }, () => Math.floor(rand() * 1000)),
    );
    const scale = makeTensor(
      "f32",
      [mp],
      Array.from({ length: mp }, () => Math.fround(2e-5 * (1 + rand()))),
    );
    const node: Node = {
      name: `extreme ${cp}`,
      op: "QLinearConvNhwc",
      inputs: ["x", "w", "b", "s"],
      outputs: ["y"],
      attrs: { kernel_shape: [3, 3], pads: [1, 1, 1, 1], x_pad: 255, y_zero_point: 128 },
    };
    const inputs = [x, w, bias, scale];
    const g = nhwcConvGeometry(node, inputs);
    assert.ok(qconvWinogradComputes(g, qconvTensors(inputs)));
    const [expected] = qlinearConvNhwc.reference(node, inputs);
    assert.ok(new Set(expected.data).size > 32, "outputs spread over the byte range");
    const y = makeTensor("u8", [1, size, size, mp]);
    qconv.conv(g, qconvTensors(inputs), y.data as Uint8Array);
    assertClose(y.data, expected.data, TOLERANCES.exact, node.name);
  }
  qconv.gemm.dispose();
});
