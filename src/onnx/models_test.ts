/**
 * Imports every real and synthetic model in ../shared/models and checks the result against
 * what the models' READMEs and zoo-synth/MANIFEST.tsv state, and against python3-onnx.
 */
import assert from "node:assert/strict";
import type { Graph, Tensor } from "../graph/types.ts";
import { HAS_PYTHON_ONNX, runPython } from "./_test_python.ts";
import { importOnnx } from "./import.ts";
import { inferShapes, type SymShape } from "./shapes.ts";

const MODELS = new URL("../../../shared/models/", import.meta.url);
const HAS_SHARED = (() => {
  try {
    return Deno.statSync(MODELS).isDirectory;
  } catch {
    return false;
  }
})();

function onnxFiles(folder: string): URL[] {
  if (!HAS_SHARED) return [];
  const dir = new URL(folder, MODELS);
  return [...Deno.readDirSync(dir)]
    .filter((e) => e.isFile && e.name.endsWith(".onnx"))
    .map((e) => new URL(e.name, dir))
    .sort((a, b) => a.pathname.localeCompare(b.pathname));
}

const ALL_FILES = [...onnxFiles(""), ...onnxFiles("cifar10/"), ...onnxFiles("zoo-synth/")];

function histogram(graph: Graph): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const node of graph.nodes) counts[node.op] = (counts[node.op] ?? 0) + 1;
  return counts;
}

function sorted(counts: Record<string, number>): [string, number][] {
  return Object.entries(counts).sort(([a], [b]) => a.localeCompare(b));
}

function importFile(url: URL) {
  return importOnnx(Deno.readFileSync(url));
}

/**
 * Op counts the READMEs state, as resin imports them. mobilenetv2-12-int8: the README's
 * Shape 1, Gather 1, Unsqueeze 1, Concat 1 are the flatten's shape arithmetic, folded into
 * the one Reshape's attribute; every other op is kept.
 */
const README_COUNTS: Record<string, Record<string, number>> = {
  "mobilenetv2-12-int8.onnx": {
    QLinearConv: 52,
    QLinearAdd: 11,
    QLinearGlobalAveragePool: 1,
    QLinearMatMul: 1,
    QuantizeLinear: 1,
    DequantizeLinear: 2,
    Reshape: 1,
  },
  "shufflenet-v2-12-qdq.onnx": {
    QuantizeLinear: 150,
    DequantizeLinear: 263,
    Conv: 56,
    MaxPool: 1,
    Concat: 16,
    Reshape: 32,
    Transpose: 16,
    Split: 13,
    ReduceMean: 1,
    MatMul: 1,
    Add: 1,
  },
};

/** cifar10/README.md's operator table: nodes, then Conv, BN, Relu, Add, Slice, Pad, GAP, Flatten, Gemm. */
const CIFAR_TABLE: Record<string, number[]> = {
  "resnet20-cifar10.onnx": [73, 19, 19, 19, 9, 2, 2, 1, 1, 1],
  "resnet32-cifar10.onnx": [115, 31, 31, 31, 15, 2, 2, 1, 1, 1],
  "resnet44-cifar10.onnx": [157, 43, 43, 43, 21, 2, 2, 1, 1, 1],
  "resnet56-cifar10.onnx": [199, 55, 55, 55, 27, 2, 2, 1, 1, 1],
  "resnet20b-distiller-cifar10.onnx": [73, 21, 21, 19, 9, 0, 0, 1, 1, 1],
};
const CIFAR_OPS = [
  "Conv",
  "BatchNormalization",
  "Relu",
  "Add",
  "Slice",
  "Pad",
  "GlobalAveragePool",
  "Flatten",
  "Gemm",
];

interface ManifestRow {
  file: string;
  input: string;
  inputShape: string;
  inputDtype: string;
  output: string;
  outputShape: string;
  opCounts: Record<string, number>;
}

function manifest(): ManifestRow[] {
  const [header, ...lines] = Deno.readTextFileSync(new URL("zoo-synth/MANIFEST.tsv", MODELS))
    .trim().split("\n").map((line) => line.split("\t"));
  const col = (row: string[], name: string) => row[header.indexOf(name)];
  return lines.filter((row) => col(row, "stored_here") === "yes").map((row) => ({
    file: col(row, "file"),
    input: col(row, "input"),
    inputShape: col(row, "input_shape"),
    inputDtype: col(row, "input_dtype"),
    output: col(row, "output"),
    outputShape: col(row, "output_shape"),
    opCounts: Object.fromEntries(
      col(row, "op_counts").split(",").map((entry) => {
        const [op, count] = entry.split(":");
        return [op, Number(count)];
      }),
    ),
  }));
}

/**
 * ONNX op counts as resin imports them: com.microsoft ops lose the domain prefix, and each
 * ResNet residual `Sum` (two inputs) becomes one `Add`.
 */
function asImported(onnxCounts: Record<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [op, count] of Object.entries(onnxCounts)) {
    const resinOp = op === "Sum" ? "Add" : op.replace(/^com\.microsoft\./, "");
    out[resinOp] = (out[resinOp] ?? 0) + count;
  }
  return out;
}

Deno.test({
  name: "every shared ONNX model imports (needs ../shared)",
  ignore: !HAS_SHARED,
  fn: () => {
    assert.ok(ALL_FILES.length >= 23, `found only ${ALL_FILES.length} models`);
    for (const url of ALL_FILES) {
      const { graph } = importFile(url);
      assert.ok(graph.nodes.length > 0, url.pathname);
      for (const node of graph.nodes) {
        assert.ok(!["Identity", "Dropout", "Sum", "Shape", "Gather", "Constant"].includes(node.op));
      }
      assert.equal(
        new Set(graph.nodes.map((n) => n.name)).size,
        graph.nodes.length,
        "unique names",
      );
    }
  },
});

Deno.test({
  name: "the real models' op counts match models/README.md and cifar10/README.md (needs ../shared)",
  ignore: !HAS_SHARED,
  fn: () => {
    for (const [file, counts] of Object.entries(README_COUNTS)) {
      assert.deepEqual(
        sorted(histogram(importFile(new URL(file, MODELS)).graph)),
        sorted(counts),
        file,
      );
    }
    for (const [file, [nodes, ...counts]] of Object.entries(CIFAR_TABLE)) {
      const { graph } = importFile(new URL(`cifar10/${file}`, MODELS));
      assert.equal(graph.nodes.length, nodes, file);
      const expected = Object.fromEntries(
        CIFAR_OPS.map((op, i) => [op, counts[i]]).filter(([, c]) => c),
      );
      assert.deepEqual(sorted(histogram(graph)), sorted(expected), file);
    }
  },
});

Deno.test({
  name:
    "mobilenetv2-12-int8's Shape/Gather/Unsqueeze/Concat flatten folds to Reshape [0, -1] (needs ../shared)",
  ignore: !HAS_SHARED,
  fn: () => {
    const { graph, opset, producer, irVersion } = importFile(
      new URL("mobilenetv2-12-int8.onnx", MODELS),
    );
    assert.deepEqual([opset, producer, irVersion], [12, "onnx.quantize 0.1.0", 7]);
    const reshape = graph.nodes.find((n) => n.op === "Reshape")!;
    assert.deepEqual(reshape.attrs, { shape: [0, -1] });
    assert.deepEqual(graph.inputs, [{
      name: "input",
      dtype: "f32",
      shape: ["batch_size", 3, 224, 224],
      layout: "NCHW",
    }]);
    assert.deepEqual(graph.outputs, [{
      name: "output",
      dtype: "f32",
      shape: ["batch_size", 1000],
      layout: "NC",
    }]);
  },
});

Deno.test({
  name: "zoo-synth models match MANIFEST.tsv: ops, inputs and outputs (needs ../shared)",
  ignore: !HAS_SHARED,
  fn: () => {
    const rows = manifest();
    assert.equal(rows.length, onnxFiles("zoo-synth/").length);
    for (const row of rows) {
      const { graph } = importFile(new URL(`zoo-synth/${row.file}`, MODELS));
      assert.deepEqual(sorted(histogram(graph)), sorted(asImported(row.opCounts)), row.file);
      const dtype = { float32: "f32", uint8: "u8" }[row.inputDtype];
      assert.deepEqual(
        graph.inputs.map((i) => [i.name, `[${i.shape}]`, i.dtype]),
        [[row.input, row.inputShape, dtype]],
        row.file,
      );
      assert.deepEqual(graph.outputs.map((o) => [o.name, `[${o.shape}]`]), [[
        row.output,
        row.outputShape,
      ]]);
    }
  },
});

/** Python: per model, each initializer as resin stores it (int64 as int32) and ONNX's inferred shapes. */
const PYTHON_MODELS = `
import hashlib, json, sys
import numpy as np
import onnx
from onnx import numpy_helper, shape_inference
def dims(vi):
    return [d.dim_param if d.HasField("dim_param") else (d.dim_value if d.HasField("dim_value") else None)
            for d in vi.type.tensor_type.shape.dim]
out = {}
for path in sys.argv[1:]:
    m = onnx.load(path)
    inits = {}
    for t in m.graph.initializer:
        a = numpy_helper.to_array(t)
        if a.dtype == np.int64 and (a.size == 0 or (a.min() >= -2**31 and a.max() < 2**31)):
            a = a.astype(np.int32)
        inits[t.name] = [t.data_type, a.dtype.name, list(a.shape), hashlib.sha256(np.ascontiguousarray(a).tobytes()).hexdigest()]
    inferred = shape_inference.infer_shapes(m)
    shapes = {vi.name: dims(vi) for vi in list(inferred.graph.value_info) + list(inferred.graph.output)
              if vi.type.tensor_type.HasField("shape")}
    out[path] = {"inits": inits, "shapes": shapes}
print(json.dumps(out))
`;

const NUMPY_DTYPE: Record<string, string> = {
  f32: "float32",
  f16: "float16",
  i8: "int8",
  u8: "uint8",
  i32: "int32",
};

async function sha256(data: Tensor["data"]): Promise<string> {
  const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength).slice();
  const digest = await crypto.subtle.digest("SHA-256", bytes);
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

/** Symbolic shapes of every value of `graph`, propagated node by node. */
function propagate(graph: Graph): Map<string, SymShape | undefined> {
  const shapes = new Map<string, SymShape | undefined>();
  for (const input of graph.inputs) shapes.set(input.name, input.shape);
  for (const [name, t] of graph.initializers) shapes.set(name, t.shape);
  let fresh = 0;
  for (const node of graph.nodes) {
    const out = inferShapes(node, node.inputs.map((i) => shapes.get(i)), () => `?${++fresh}`);
    node.outputs.forEach((name, i) => shapes.set(name, out[i]));
  }
  return shapes;
}

Deno.test({
  name: "weights and inferred shapes match python3-onnx (needs ../shared and python3-onnx)",
  ignore: !HAS_SHARED || !HAS_PYTHON_ONNX,
  fn: async () => {
    const expected = JSON.parse(await runPython(PYTHON_MODELS, ALL_FILES.map((u) => u.pathname)));
    for (const url of ALL_FILES) {
      const file = url.pathname;
      const { graph } = importFile(url);
      const { inits, shapes } = expected[file];
      for (const [name, tensor] of graph.initializers) {
        const [, dtype, dims, digest] = inits[name];
        assert.deepEqual(
          [NUMPY_DTYPE[tensor.dtype], tensor.shape, await sha256(tensor.data)],
          [dtype, dims, digest],
          `${file}: initializer ${name}`,
        );
      }
      // Only int64 shape operands, folded into attributes, may be left out.
      for (const [name, [dataType]] of Object.entries(inits) as [string, number[]][]) {
        if (!graph.initializers.has(name)) {
          assert.equal(dataType, 7, `${file}: ${name} was dropped`);
        }
      }
      let compared = 0;
      const propagated = propagate(graph);
      // Through int8 com.microsoft ops, which ONNX's inference skips: the declared outputs.
      for (const output of graph.outputs) {
        assert.deepEqual(propagated.get(output.name), output.shape, `${file}: ${output.name}`);
      }
      for (const [name, mine] of propagated) {
        const theirs: (number | string | null)[] | undefined = shapes[name];
        if (!theirs) continue;
        assert.ok(mine, `${file}: no shape inferred for ${name}`);
        assert.equal(mine.length, theirs.length, `${file}: rank of ${name}`);
        theirs.forEach((d, i) => {
          if (d !== null) {
            assert.equal(mine[i], d, `${file}: ${name} dim ${i}: [${mine}] vs [${theirs}]`);
          }
        });
        compared++;
      }
      assert.ok(compared > 0, `${file}: no shapes compared`);
    }
  },
});
