/**
 * ONNX import: decodes a model and normalises it into a resin `Graph` that follows the
 * resin op vocabulary (docs/ARCHITECTURE.md): opset-13 semantics, constant operands as
 * attributes, shape arithmetic folded, Identity/Dropout removed, Sum as a chain of Add.
 *
 * Supported: ai.onnx opsets 3 to 17 (every supported op's semantics changes after 13 are
 * handled: Reshape `allowzero`, BatchNormalization `training_mode`, Shape `start`/`end`),
 * and com.microsoft opset 1 for QLinearAdd, QLinearGlobalAveragePool and QGemm.
 *
 * @module
 */

import type { DType, Graph, Layout, Tensor, ValueInfo } from "../graph/types.ts";
import { OnnxImportError } from "./errors.ts";
import { ImportState } from "./import_state.ts";
import { NodeScope } from "./node_scope.ts";
import {
  dataTypeName,
  decodeModel,
  type OnnxGraph,
  type OnnxModel,
  type OnnxNode,
  type OnnxValueInfo,
} from "./onnx_proto.ts";
import { DEFAULT_DOMAIN_RULES, MICROSOFT_DOMAIN_RULES, type OpRule } from "./op_rules.ts";
import { ProtobufError } from "./protobuf.ts";
import { resinDTypeOf, tensorFromProto } from "./tensor.ts";

export { OnnxImportError };

/** An op domain resin imports: its rules and the opset versions it understands. */
interface Domain {
  rules: Readonly<Record<string, OpRule>>;
  minOpset: number;
  maxOpset: number;
}

const DOMAINS: Readonly<Record<string, Domain>> = {
  "": { rules: DEFAULT_DOMAIN_RULES, minOpset: 3, maxOpset: 17 },
  "com.microsoft": { rules: MICROSOFT_DOMAIN_RULES, minOpset: 1, maxOpset: 1 },
};

/** The result of `importOnnx`. */
export interface OnnxImport {
  /** The normalised graph. */
  graph: Graph;
  /** The model's ai.onnx opset (0 when it imports none). */
  opset: number;
  /** Producer name and version, e.g. `"pytorch 1.13.0"`. */
  producer: string;
  /** The file's IR version. */
  irVersion: number;
}

/** Options of `importOnnx`. */
export interface OnnxImportOptions {
  /** Graph name; defaults to the ONNX graph's name, or `"model"`. */
  name?: string;
}

/**
 * Imports a serialized ONNX model. Throws `OnnxImportError` (one line, naming the node or
 * value) for malformed files and anything resin does not support.
 *
 * @example
 * ```ts
 * const { graph, opset } = importOnnx(Deno.readFileSync("resnet18-v1-7.onnx"));
 * ```
 */
export function importOnnx(bytes: Uint8Array, options: OnnxImportOptions = {}): OnnxImport {
  const model = decode(bytes);
  const onnxGraph = model.graph!;
  if (onnxGraph.sparseInitializerCount > 0) {
    throw new OnnxImportError("The model has sparse initializers, which resin does not support");
  }
  const opsets = new Map<string, number>();
  for (const { domain, version } of model.opsetImport) {
    if (!opsets.has(domainKey(domain))) opsets.set(domainKey(domain), version);
  }
  const state = new ImportState(onnxGraph);
  for (const t of onnxGraph.initializers) state.addTensor(t);
  // IR < 4 files list every initializer among the inputs too: those are weights.
  const inputs = onnxGraph.inputs.filter((info) => !state.tensors.has(info.name)).map((info) => {
    const value = valueInfo(info, "input");
    state.addInput(info.name, state.symShape(info.shape!));
    return value;
  });
  for (const node of onnxGraph.nodes) importNode(state, node, opsets);
  const outputs = onnxGraph.outputs.map((info) => {
    bindOutput(state, info.name, onnxGraph);
    return valueInfo(info, "output");
  });
  const graph: Graph = {
    name: options.name ?? (onnxGraph.name || "model"),
    nodes: state.nodes,
    inputs,
    outputs,
    initializers: initializers(state, outputs),
  };
  return {
    graph,
    opset: opsets.get("") ?? 0,
    producer: `${model.producerName} ${model.producerVersion}`.trim(),
    irVersion: model.irVersion,
  };
}

/** Every op `importOnnx` accepts, as `[domain, op]` pairs (`""` is ai.onnx). */
export function importableOps(): [string, string][] {
  return Object.entries(DOMAINS).flatMap(([domain, { rules }]) =>
    Object.keys(rules).map((op): [string, string] => [domain, op])
  );
}

function decode(bytes: Uint8Array): OnnxModel {
  let model: OnnxModel;
  try {
    model = decodeModel(bytes);
  } catch (err) {
    if (err instanceof ProtobufError) {
      throw new OnnxImportError(`Not an ONNX model: ${err.message}`);
    }
    throw err;
  }
  if (model.irVersion === 0 || !model.graph) {
    throw new OnnxImportError(
      `Not an ONNX model: ${model.irVersion === 0 ? "no IR version" : "no graph"}`,
    );
  }
  return model;
}

function domainKey(domain: string): string {
  return domain === "ai.onnx" ? "" : domain;
}

function importNode(state: ImportState, node: OnnxNode, opsets: Map<string, number>): void {
  const key = domainKey(node.domain);
  const name = state.nodeName(node.name, node.outputs[0] ?? "", node.opType);
  const opset = opsets.get(key);
  const domain: Domain | undefined = DOMAINS[key];
  const rule = domain?.rules[node.opType];
  if (!rule) {
    throw new OnnxImportError(
      `Unsupported op "${node.opType}" (domain "${node.domain}", opset ${opset ?? "none"}) ` +
        `in node "${name}"`,
    );
  }
  if (opset === undefined || opset < domain.minOpset || opset > domain.maxOpset) {
    throw new OnnxImportError(
      `Unsupported opset ${opset ?? "(not imported)"} for op "${node.opType}" (domain ` +
        `"${node.domain}") in node "${name}"; resin imports ${key || "ai.onnx"} opsets ` +
        `${domain.minOpset} to ${domain.maxOpset}`,
    );
  }
  const inputs = node.inputs.map((input) => input && state.resolve(input));
  const scope = new NodeScope(state, { ...node, inputs }, name, opset);
  // Opset-1 ops carried `consumed_inputs`, an in-place hint with no meaning for inference.
  if (key === "" && opset < 6) scope.ignoreAttrs("consumed_inputs");
  rule(scope);
  const unread = scope.unreadAttrs();
  if (unread.length > 0) scope.fail(`unexpected attribute "${unread[0]}"`);
}

/** Makes graph output `name` a value the graph computes under that name. */
function bindOutput(state: ImportState, name: string, graph: OnnxGraph): void {
  const what = `Graph output "${name}"`;
  const target = state.resolve(name);
  if (target !== name) {
    const passedThrough = [...graph.inputs, ...graph.outputs].some((i) => i.name === target);
    if (passedThrough || !state.nodes.some((n) => n.outputs.includes(target))) {
      throw new OnnxImportError(
        `${what} is "${target}" passed through unchanged; resin graph outputs must be ` +
          `computed by a node`,
      );
    }
    // The removed Identity/Dropout's input takes the output's name.
    state.rename(target, name);
  }
  state.requireData(name, what);
}

function valueInfo(info: OnnxValueInfo, kind: "input" | "output"): ValueInfo {
  const what = `Graph ${kind} "${info.name}"`;
  if (info.nonTensorKind) {
    throw new OnnxImportError(
      `${what} has ${info.nonTensorKind === "optional" ? "an" : "a"} ${info.nonTensorKind} type; ` +
        `resin supports tensors only`,
    );
  }
  if (info.elemType === undefined || !info.shape) {
    throw new OnnxImportError(`${what} declares no ${info.shape ? "element type" : "shape"}`);
  }
  const dtype = resinDTypeOf(info.elemType);
  if (!dtype) {
    throw new OnnxImportError(
      `${what} has data type ${dataTypeName(info.elemType)}; resin ${kind}s must be FLOAT, ` +
        `FLOAT16, INT8, UINT8 or INT32`,
    );
  }
  const shape = info.shape.map((d) => d.param || (d.value ?? "?"));
  const layout = layoutOf(dtype, shape);
  return layout ? { name: info.name, dtype, shape, layout } : { name: info.name, dtype, shape };
}

/** NCHW for 4-D f32 images, NHWC for 4-D u8 images with 3 channels last, NC for 2-D. */
function layoutOf(dtype: DType, shape: readonly (number | string)[]): Layout | undefined {
  if (shape.length === 2) return "NC";
  if (shape.length !== 4) return undefined;
  if (dtype === "u8" && shape[3] === 3) return "NHWC";
  return dtype === "f32" ? "NCHW" : undefined;
}

/** The constants the graph reads, as resin tensors, in file order. */
function initializers(state: ImportState, outputs: ValueInfo[]): Map<string, Tensor> {
  const used = new Set(outputs.map((o) => o.name));
  for (const node of state.nodes) for (const input of node.inputs) used.add(input);
  const out = new Map<string, Tensor>();
  for (const [name, t] of state.tensors) {
    if (used.has(name)) out.set(name, tensorFromProto(t, `Tensor "${name}"`));
  }
  for (const [name, t] of state.materialized) if (used.has(name)) out.set(name, t);
  return out;
}
