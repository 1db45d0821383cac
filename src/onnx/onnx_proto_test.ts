import assert from "node:assert/strict";
import { attr, floatTensor, modelBytes, node, tensorInfo } from "./_test_models.ts";
import { HAS_PYTHON_ONNX, runPython } from "./_test_python.ts";
import {
  ATTR_TYPE,
  DATA_TYPE,
  decodeModel,
  decodeTensorProto,
  encodeModel,
  encodeTensorProto,
  type OnnxModel,
} from "./onnx_proto.ts";
import { ProtoWriter } from "./protobuf.ts";
import { numbersFromProto } from "./tensor.ts";

const utf8 = new TextEncoder();

/** A model touching every field the codec reads or writes. */
function sampleModel(): OnnxModel {
  return {
    irVersion: 8,
    producerName: "resin-test",
    producerVersion: "0.1",
    opsetImport: [{ domain: "", version: 13 }, { domain: "com.microsoft", version: 1 }],
    graph: {
      name: "g",
      nodes: [{
        name: "n0",
        opType: "Custom",
        domain: "com.microsoft",
        inputs: ["x", "", "w"],
        outputs: ["y", ""],
        attributes: [
          { name: "f", type: ATTR_TYPE.FLOAT, f: 0.25 },
          { name: "i", type: ATTR_TYPE.INT, i: -(2n ** 63n) },
          { name: "s", type: ATTR_TYPE.STRING, s: utf8.encode("SAME_UPPER") },
          { name: "fs", type: ATTR_TYPE.FLOATS, floats: Float32Array.of(1, -2.5) },
          { name: "is", type: ATTR_TYPE.INTS, ints: BigInt64Array.of(2n ** 63n - 1n, -1n, 0n) },
          { name: "ss", type: ATTR_TYPE.STRINGS, strings: [utf8.encode("a"), utf8.encode("")] },
          {
            name: "t",
            type: ATTR_TYPE.TENSOR,
            t: {
              name: "",
              dims: [2],
              dataType: DATA_TYPE.INT64,
              int64Data: BigInt64Array.of(-3n, 4n),
            },
          },
        ],
      }],
      initializers: [
        {
          name: "w",
          dims: [2, 2],
          dataType: DATA_TYPE.FLOAT,
          floatData: Float32Array.of(1, 2, 3, 4),
        },
        { name: "q", dims: [3], dataType: DATA_TYPE.INT8, int32Data: Int32Array.of(-128, 0, 127) },
        { name: "r", dims: [2], dataType: DATA_TYPE.UINT8, rawData: Uint8Array.of(7, 255) },
        {
          name: "e",
          dims: [1],
          dataType: DATA_TYPE.FLOAT,
          dataLocation: 1,
          externalData: [{ key: "location", value: "w.bin" }],
        },
      ],
      sparseInitializerCount: 0,
      inputs: [{ name: "x", elemType: DATA_TYPE.FLOAT, shape: [{ param: "N" }, { value: 3 }, {}] }],
      outputs: [{ name: "y", elemType: DATA_TYPE.UINT8, shape: [] }],
      valueInfo: [{ name: "v" }],
    },
  };
}

Deno.test("a model survives encode then decode unchanged", () => {
  const model = sampleModel();
  assert.deepEqual(decodeModel(encodeModel(model)), model);
});

Deno.test("a TensorProto survives encode then decode unchanged", () => {
  const t = {
    name: "big",
    dims: [3, 1],
    dataType: DATA_TYPE.INT64,
    int64Data: BigInt64Array.of(-(2n ** 63n), 0n, 2n ** 63n - 1n),
  };
  assert.deepEqual(decodeTensorProto(encodeTensorProto(t)), t);
});

Deno.test("attribute types are inferred from the value field when a file omits them", () => {
  const model = sampleModel();
  for (const a of model.graph!.nodes[0].attributes) a.type = ATTR_TYPE.UNDEFINED;
  // encodeModel writes `type` only when set, as old files did.
  const decoded = decodeModel(encodeModel(model));
  assert.deepEqual(
    decoded.graph!.nodes[0].attributes.map((a) => a.type),
    [
      ATTR_TYPE.FLOAT,
      ATTR_TYPE.INT,
      ATTR_TYPE.STRING,
      ATTR_TYPE.FLOATS,
      ATTR_TYPE.INTS,
      ATTR_TYPE.STRINGS,
      ATTR_TYPE.TENSOR,
    ],
  );
});

Deno.test("non-tensor value types are recognised, and refused by the encoder", () => {
  // GraphProto.input (11) = ValueInfoProto { name "seq", type { sequence_type (4) {} } }.
  const w = new ProtoWriter();
  w.uintField(1, 7);
  w.message(7, (g) =>
    g.message(11, (v) => {
      v.stringField(1, "seq");
      v.message(2, (t) => t.message(4, () => {}));
    }));
  const model = decodeModel(w.finish());
  assert.deepEqual(model.graph!.inputs, [{ name: "seq", nonTensorKind: "sequence" }]);
  assert.throws(() => encodeModel(model), /Cannot encode the sequence type of "seq"/);
});

/** Python: builds the same kind of model with onnx.helper, or summarises a given file. */
const PYTHON_MODEL = `
import json, sys
import numpy as np
import onnx
from onnx import helper, numpy_helper, TensorProto

def summary(m):
    g = m.graph
    def attr(a):
        v = helper.get_attribute_value(a)
        if a.type == onnx.AttributeProto.STRING: v = v.decode()
        elif a.type == onnx.AttributeProto.STRINGS: v = [s.decode() for s in v]
        elif a.type == onnx.AttributeProto.TENSOR: v = numpy_helper.to_array(v).flatten().tolist()
        elif a.type == onnx.AttributeProto.GRAPH: v = None
        else: v = v if not isinstance(v, list) else list(v)
        return [a.name, a.type, str(v) if a.type in (2, 7) else v]
    def dims(vi):
        t = vi.type.tensor_type
        return [d.dim_param if d.HasField("dim_param") else (d.dim_value if d.HasField("dim_value") else None) for d in t.shape.dim]
    return {
        "ir": m.ir_version, "producer": m.producer_name,
        "opsets": [[o.domain, o.version] for o in m.opset_import],
        "nodes": [[n.name, n.op_type, n.domain, list(n.input), list(n.output), [attr(a) for a in n.attribute]] for n in g.node],
        "inits": [[t.name, list(t.dims), t.data_type, numpy_helper.to_array(t).astype(np.float64).flatten().tolist()] for t in g.initializer],
        "inputs": [[i.name, i.type.tensor_type.elem_type, dims(i)] for i in g.input],
        "outputs": [[i.name, i.type.tensor_type.elem_type, dims(i)] for i in g.output],
        "sparse": len(g.sparse_initializer),
    }

if sys.argv[1] == "build":
    sub = helper.make_graph([helper.make_node("Relu", ["a"], ["b"])], "sub",
        [helper.make_tensor_value_info("a", TensorProto.FLOAT, [1])],
        [helper.make_tensor_value_info("b", TensorProto.FLOAT, [1])])
    node = helper.make_node("Custom", ["x", "", "w"], ["y"], name="n0", domain="com.microsoft",
        doc_string="ignored", f=0.5, i=-(2**63), big=2**63 - 1, s="SAME_LOWER", fs=[1.5, -2.0],
        ints=[-1, 0, 2**40], ss=["p", "q"], t=helper.make_tensor("t", TensorProto.INT64, [2], [-7, 8]),
        body=sub)
    inits = [
        helper.make_tensor("w", TensorProto.FLOAT, [2, 2], [1.0, -2.0, 3.5, 4.0]),
        helper.make_tensor("i8", TensorProto.INT8, [4], [-128, -1, 0, 127]),
        helper.make_tensor("u8", TensorProto.UINT8, [3], [0, 128, 255]),
        helper.make_tensor("i32", TensorProto.INT32, [3], [-(2**31), -5, 2**31 - 1]),
        helper.make_tensor("i64", TensorProto.INT64, [3], [-(2**63), 0, 2**63 - 1]),
        helper.make_tensor("f16", TensorProto.FLOAT16, [3], np.array([1.0, -2.5, 65504], np.float16).view(np.uint16).tolist()),
        numpy_helper.from_array(np.array([[0.25, -8.0]], np.float32), "raw"),
    ]
    graph = helper.make_graph([node], "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3, None])],
        [helper.make_tensor_value_info("y", TensorProto.UINT8, [5])], inits,
        sparse_initializer=[helper.make_sparse_tensor(
            helper.make_tensor("sv", TensorProto.FLOAT, [1], [1.0]),
            helper.make_tensor("si", TensorProto.INT64, [1], [0]), [3])])
    model = helper.make_model(graph, producer_name="py", doc_string="d",
        opset_imports=[helper.make_opsetid("", 13), helper.make_opsetid("com.microsoft", 1)])
    helper.set_model_props(model, {"k": "v"})
    open(sys.argv[2], "wb").write(model.SerializeToString())
    print(json.dumps(summary(model)))
else:
    m = onnx.load(sys.argv[2])
    if sys.argv[1] == "check":
        onnx.checker.check_model(m)
    print(json.dumps(summary(m)))
`;

/** The same summary as the Python script, from a decoded model. */
function summary(model: OnnxModel) {
  const g = model.graph!;
  const decoder = new TextDecoder();
  return {
    ir: model.irVersion,
    producer: model.producerName,
    opsets: model.opsetImport.map((o) => [o.domain, o.version]),
    nodes: g.nodes.map((n) => [
      n.name,
      n.opType,
      n.domain,
      n.inputs,
      n.outputs,
      n.attributes.map((a) => {
        const value = a.type === ATTR_TYPE.INT
          ? String(a.i)
          : a.type === ATTR_TYPE.INTS
          ? `[${[...a.ints!].join(", ")}]`
          : a.type === ATTR_TYPE.FLOAT
          ? a.f
          : a.type === ATTR_TYPE.FLOATS
          ? [...a.floats!]
          : a.type === ATTR_TYPE.STRING
          ? decoder.decode(a.s)
          : a.type === ATTR_TYPE.STRINGS
          ? a.strings!.map((s) => decoder.decode(s))
          : a.type === ATTR_TYPE.TENSOR
          ? numbersFromProto(a.t!, a.name)
          : null;
        return [a.name, a.type, value];
      }),
    ]),
    inits: g.initializers.map((t) => [t.name, t.dims, t.dataType, numbersFromProto(t, t.name)]),
    inputs: g.inputs.map((
      i,
    ) => [i.name, i.elemType, i.shape!.map((d) => d.param ?? d.value ?? null)]),
    outputs: g.outputs.map((
      i,
    ) => [i.name, i.elemType, i.shape!.map((d) => d.param ?? d.value ?? null)]),
    sparse: g.sparseInitializerCount,
  };
}

Deno.test({
  name: "decoding agrees with python3-onnx on a model it built (needs python3-onnx)",
  ignore: !HAS_PYTHON_ONNX,
  fn: async () => {
    const path = await Deno.makeTempFile({ suffix: ".onnx" });
    try {
      const expected = JSON.parse(await runPython(PYTHON_MODEL, ["build", path]));
      const decoded = decodeModel(await Deno.readFile(path));
      assert.deepEqual(summary(decoded), expected);
    } finally {
      await Deno.remove(path);
    }
  },
});

Deno.test({
  name: "python3-onnx reads what the encoder writes (needs python3-onnx)",
  ignore: !HAS_PYTHON_ONNX,
  fn: async () => {
    const built = await Deno.makeTempFile({ suffix: ".onnx" });
    const rewritten = await Deno.makeTempFile({ suffix: ".onnx" });
    try {
      await runPython(PYTHON_MODEL, ["build", built]);
      const model = decodeModel(await Deno.readFile(built));
      // The encoder writes no sparse initializers or subgraphs.
      model.graph!.sparseInitializerCount = 0;
      const node = model.graph!.nodes[0];
      node.attributes = node.attributes.filter((a) => a.type !== ATTR_TYPE.GRAPH);
      await Deno.writeFile(rewritten, encodeModel(model));
      const read = JSON.parse(await runPython(PYTHON_MODEL, ["read", rewritten]));
      assert.deepEqual(read, summary(model));
    } finally {
      await Deno.remove(built);
      await Deno.remove(rewritten);
    }
  },
});

Deno.test({
  name: "the ONNX checker accepts a model the encoder writes (needs python3-onnx)",
  ignore: !HAS_PYTHON_ONNX,
  fn: async () => {
    const path = await Deno.makeTempFile({ suffix: ".onnx" });
    try {
      await Deno.writeFile(
        path,
        modelBytes({
          nodes: [node("Conv", ["x", "w"], ["y"], [attr.ints("pads", [1, 1, 1, 1])])],
          inputs: [tensorInfo("x", ["N", 2, 5, 5])],
          outputs: [tensorInfo("y", ["N", 1, 5, 5])],
          initializers: [floatTensor("w", [1, 2, 3, 3], new Array(18).fill(0.5))],
        }),
      );
      const checked = JSON.parse(await runPython(PYTHON_MODEL, ["check", path]));
      assert.deepEqual(checked.nodes[0].slice(0, 5), ["y", "Conv", "", ["x", "w"], ["y"]]);
    } finally {
      await Deno.remove(path);
    }
  },
});
