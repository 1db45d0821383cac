/**
 * The manifest of a resin model, the JSON half of the format (docs/FORMAT.md): its types, its
 * limits, and `validateManifest`, which checks every field and every cross-reference before a
 * reader allocates anything.
 *
 * @example
 * ```ts
 * import { parseManifestJson, validateManifest } from "./manifest.ts";
 * const manifest = validateManifest(parseManifestJson(await Deno.readFile("model/manifest.json")));
 * console.log(manifest.name, manifest.tensors.length);
 * ```
 *
 * @module
 */

import { errorMessage } from "../errors.ts";
import {
  type AttrValue,
  type Dim,
  type DType,
  DTYPE_BYTES,
  DTYPES,
  type Layout,
  type Node,
  type QuantParams,
  type TensorData,
  type ValueInfo,
} from "../graph/types.ts";
import type { ImagePreprocess } from "./preprocess.ts";

/** The `format` field of every resin manifest. */
export const FORMAT_NAME = "resin-model";

/** The manifest version this resin writes and the only one it reads. */
export const FORMAT_VERSION = 1;

/** Alignment in bytes of every tensor offset in the weights file, and of the file's length. */
export const TENSOR_ALIGNMENT = 256;

/** File name of the manifest inside a model folder. */
export const MANIFEST_FILE = "manifest.json";

/** File name the encoder gives the weights binary, beside the manifest. */
export const DEFAULT_WEIGHTS_FILE = "weights.bin";

/** Size limits a reader enforces before it allocates anything. */
export const FORMAT_LIMITS = {
  /** Largest weights file: 4 GiB. */
  weightBytes: 4 * 2 ** 30,
  /** Largest tensor in elements (2**30; the largest ResNet-152 tensor has about 2.4 M). */
  tensorElements: 2 ** 30,
  /** Largest manifest JSON in bytes (a ResNet-152 manifest with 1000 labels is ~300 KB). */
  manifestBytes: 16 * 2 ** 20,
  /** Highest tensor rank. */
  rank: 8,
} as const;

/** One stored tensor (an initializer of the graph) and where its bytes lie in the weights file. */
export interface TensorEntry {
  /** Initializer name, unique in the manifest. */
  name: string;
  /** Element type. */
  dtype: DType;
  /** Concrete shape. */
  shape: number[];
  /** Byte offset in the weights file, a multiple of `TENSOR_ALIGNMENT`. */
  offset: number;
  /** Bytes: element count times the dtype size. */
  byteLength: number;
  /** Quantization parameters of an integer tensor. */
  quant?: QuantParams;
}

/** Where a model came from and what converted it. */
export interface Provenance {
  /** The source file's name or URL. */
  source: string;
  /** sha256 of the source file, 64 lowercase hex digits. */
  sha256: string;
  /** The source file's format. */
  sourceFormat: "onnx" | "tflite";
  /** The source's ONNX opset (ai.onnx domain), when it has one. */
  opset?: number;
  /** The tool that wrote the source file, e.g. `"pytorch 2.1"`. */
  producer?: string;
  /** The resin converter and version that wrote this manifest. */
  converter: string;
}

/** The weights binary a manifest describes. */
export interface WeightsFile {
  /** File name beside the manifest (no directories); `DEFAULT_WEIGHTS_FILE` when encoded. */
  file: string;
  /** Exact length of the file in bytes, a multiple of `TENSOR_ALIGNMENT`. */
  byteLength: number;
  /** sha256 of the whole file, 64 lowercase hex digits. */
  sha256: string;
}

/** A validated resin manifest (see docs/FORMAT.md). */
export interface Manifest {
  /** Always `FORMAT_NAME`. */
  format: "resin-model";
  /** The format version, `FORMAT_VERSION`. */
  version: number;
  /** Model name. */
  name: string;
  /** The graph without its initializers' data. */
  graph: { nodes: Node[]; inputs: ValueInfo[]; outputs: ValueInfo[] };
  /** Every initializer, offsets `TENSOR_ALIGNMENT`-aligned and not overlapping. */
  tensors: TensorEntry[];
  /** The weights binary. */
  weights: WeightsFile;
  /** How to turn an image into the model's first input. */
  preprocess?: ImagePreprocess;
  /** Class labels, in output index order. */
  labels?: string[];
  /** Where the model came from. */
  provenance: Provenance;
}

/** A manifest (or its weights file) is malformed; the message names the field or tensor. */
export class ManifestError extends Error {
  /** Creates the error with a one-line message. */
  constructor(message: string) {
    super(message);
    this.name = "ManifestError";
  }
}

/** A constructor of the typed array that holds one dtype's elements. */
export type TensorArrayConstructor = new (
  buffer: ArrayBuffer,
  byteOffset: number,
  length: number,
) => TensorData;

/** The typed array class holding each dtype (f16 as raw bits in a Uint16Array). */
export const TENSOR_ARRAYS: Readonly<Record<DType, TensorArrayConstructor>> = {
  f32: Float32Array,
  f16: Uint16Array,
  i8: Int8Array,
  u8: Uint8Array,
  i32: Int32Array,
};

const LITTLE_ENDIAN_HOST = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * Throws unless the host is little-endian: the format stores multi-byte elements
 * little-endian, and the encoder and decoder copy typed-array bytes as they are.
 */
export function requireLittleEndianHost(): void {
  if (!LITTLE_ENDIAN_HOST) {
    throw new Error("resin's weight format is little-endian and this host is big-endian");
  }
}

/** Rounds `bytes` up to a multiple of `TENSOR_ALIGNMENT`. */
export function alignUp(bytes: number): number {
  return Math.ceil(bytes / TENSOR_ALIGNMENT) * TENSOR_ALIGNMENT;
}

/**
 * Decodes and parses manifest JSON (UTF-8 bytes or text) without validating it.
 * Throws `ManifestError` for oversized input, invalid UTF-8 or invalid JSON.
 */
export function parseManifestJson(source: string | Uint8Array): unknown {
  const [size, unit] = typeof source === "string"
    ? [source.length, "characters"]
    : [source.byteLength, "bytes"];
  if (size > FORMAT_LIMITS.manifestBytes) {
    fail(`is ${size} ${unit}, more than the limit of ${FORMAT_LIMITS.manifestBytes}`);
  }
  let text: string;
  if (typeof source === "string") {
    text = source;
  } else {
    try {
      text = new TextDecoder("utf-8", { fatal: true }).decode(source);
    } catch {
      fail("is not UTF-8 text; is this really a manifest.json?");
    }
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    fail(`is not valid JSON (${errorMessage(err)})`);
  }
}

/**
 * Serializes a manifest as JSON: an object or array whose line fits in 100 columns stays on
 * one line, a larger one gets one member per line (numbers and strings: as many as fit).
 * `JSON.parse` of the result equals `manifest`.
 */
export function stringifyManifest(manifest: Manifest): string {
  return `${toJson(manifest, "", 0)}\n`;
}

/** `value` as JSON indented by `indent`, after `prefix` columns of key on its first line. */
function toJson(value: unknown, indent: string, prefix: number): string {
  const flat = JSON.stringify(value);
  if (value === null || typeof value !== "object" || indent.length + prefix + flat.length <= 100) {
    return flat;
  }
  const inner = `${indent}  `;
  if (Array.isArray(value)) {
    if (value.some((v) => v !== null && typeof v === "object")) {
      return `[\n${value.map((v) => inner + toJson(v, inner, 1)).join(",\n")}\n${indent}]`;
    }
    // Numbers and strings: as many per line as fit.
    const rows: string[] = [];
    value.forEach((v, i) => {
      const item = JSON.stringify(v) + (i < value.length - 1 ? "," : "");
      const last = rows.length - 1;
      if (last >= 0 && inner.length + rows[last].length + 1 + item.length <= 100) {
        rows[last] += ` ${item}`;
      } else {
        rows.push(item);
      }
    });
    return `[\n${rows.map((row) => inner + row).join("\n")}\n${indent}]`;
  }
  const lines = Object.entries(value).filter(([, v]) => v !== undefined).map(([k, v]) => {
    const key = `${JSON.stringify(k)}: `;
    return `${inner}${key}${toJson(v, inner, key.length + 1)}`;
  });
  return `{\n${lines.join(",\n")}\n${indent}}`;
}

/**
 * Checks that `json` is a complete, consistent version-1 manifest and returns a fresh copy of
 * it. Throws `ManifestError` with a one-line message quoting the offending value.
 */
export function validateManifest(json: unknown): Manifest {
  const top = object(json, "manifest");
  if (top.format !== FORMAT_NAME) {
    fail(`format is ${quote(top.format)}, expected "${FORMAT_NAME}"; this is not a resin model`);
  }
  const version = int(top.version, "version", 1, Number.MAX_SAFE_INTEGER);
  if (version > FORMAT_VERSION) {
    throw new ManifestError(
      `Manifest was written by a newer resin (version ${version}); this resin reads version ` +
        `${FORMAT_VERSION}. Update resin to load this model.`,
    );
  }
  const o = fields(
    top,
    "manifest",
    ["format", "version", "name", "graph", "tensors", "weights", "provenance"],
    ["preprocess", "labels"],
  );
  const name = str(o.name, "name");
  const provenance = readProvenance(o.provenance);
  const weights = readWeightsFile(o.weights);
  const tensors = list(o.tensors, "tensors").map((t, i) => readTensorEntry(t, i, weights));
  checkLayout(tensors);
  const g = fields(o.graph, "graph", ["nodes", "inputs", "outputs"], []);
  const graph = {
    nodes: list(g.nodes, "graph.nodes").map(readNode),
    inputs: list(g.inputs, "graph.inputs").map((v, i) => readValueInfo(v, `graph.inputs[${i}]`)),
    outputs: list(g.outputs, "graph.outputs").map((v, i) =>
      readValueInfo(v, `graph.outputs[${i}]`)
    ),
  };
  checkReferences(graph, tensors);
  const manifest: Manifest = {
    format: FORMAT_NAME,
    version,
    name,
    provenance,
    weights,
    graph,
    tensors,
  };
  if (o.preprocess !== undefined) {
    manifest.preprocess = validatePreprocess(o.preprocess);
    checkPreprocessMatchesInput(manifest.preprocess, graph.inputs[0]);
  }
  if (o.labels !== undefined) {
    manifest.labels = list(o.labels, "labels").map((v, i) => str(v, `labels[${i}]`, false));
  }
  return manifest;
}

/**
 * Checks an image preprocessing recipe on its own (not against a model input) and returns a
 * fresh copy. Throws `ManifestError` naming the field.
 */
export function validatePreprocess(json: unknown): ImagePreprocess {
  const o = fields(
    json,
    "preprocess",
    ["resize", "scale", "mean", "std", "layout", "dtype"],
    ["crop"],
  );
  const mode = choice(object(o.resize, "preprocess.resize").mode, "preprocess.resize.mode", [
    "shorter_side",
    "exact",
  ]);
  const filters = ["bilinear", "nearest"] as const;
  let resize: ImagePreprocess["resize"];
  if (mode === "shorter_side") {
    const r = fields(o.resize, "preprocess.resize", ["mode", "size", "filter"], []);
    resize = {
      mode,
      size: int(r.size, "preprocess.resize.size", 1, 65536),
      filter: choice(r.filter, "preprocess.resize.filter", filters),
    };
  } else {
    const r = fields(o.resize, "preprocess.resize", ["mode", "width", "height", "filter"], []);
    resize = {
      mode,
      width: int(r.width, "preprocess.resize.width", 1, 65536),
      height: int(r.height, "preprocess.resize.height", 1, 65536),
      filter: choice(r.filter, "preprocess.resize.filter", filters),
    };
  }
  let crop: ImagePreprocess["crop"];
  if (o.crop !== undefined) {
    const c = fields(o.crop, "preprocess.crop", ["width", "height"], []);
    crop = {
      width: int(c.width, "preprocess.crop.width", 1, 65536),
      height: int(c.height, "preprocess.crop.height", 1, 65536),
    };
    const [w, h] = resize.mode === "exact"
      ? [resize.width, resize.height]
      : [resize.size, resize.size];
    if (crop.width > w || crop.height > h) {
      fail(`preprocess.crop ${crop.width}x${crop.height} is larger than the resized image`);
    }
  }
  return {
    resize,
    ...(crop && { crop }),
    scale: positive(o.scale, "preprocess.scale"),
    mean: triple(o.mean, "preprocess.mean", finite),
    std: triple(o.std, "preprocess.std", positive),
    layout: choice(o.layout, "preprocess.layout", ["NCHW", "NHWC"]),
    dtype: choice(o.dtype, "preprocess.dtype", ["f32", "u8", "i8"]),
  };
}

// ---------------------------------------------------------------------------------------------
// Sections of the manifest.

function readProvenance(json: unknown): Provenance {
  const o = fields(
    json,
    "provenance",
    ["source", "sha256", "sourceFormat", "converter"],
    ["opset", "producer"],
  );
  const source = str(o.source, "provenance.source");
  const sha256 = sha256Field(o.sha256, "provenance.sha256");
  const sourceFormat = choice(o.sourceFormat, "provenance.sourceFormat", ["onnx", "tflite"]);
  const opset = o.opset === undefined ? undefined : int(o.opset, "provenance.opset", 1, 1000);
  const producer = o.producer === undefined
    ? undefined
    : str(o.producer, "provenance.producer", false);
  const converter = str(o.converter, "provenance.converter");
  return {
    source,
    sha256,
    sourceFormat,
    ...(opset !== undefined && { opset }),
    ...(producer !== undefined && { producer }),
    converter,
  };
}

function readWeightsFile(json: unknown): WeightsFile {
  const o = fields(json, "weights", ["file", "byteLength", "sha256"], []);
  const file = str(o.file, "weights.file");
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(file) || file === MANIFEST_FILE) {
    fail(`weights.file ${quote(file)} must be a plain file name beside the manifest`);
  }
  const byteLength = int(o.byteLength, "weights.byteLength", 0, FORMAT_LIMITS.weightBytes);
  if (byteLength % TENSOR_ALIGNMENT !== 0) {
    fail(`weights.byteLength ${byteLength} is not a multiple of ${TENSOR_ALIGNMENT}`);
  }
  return { file, byteLength, sha256: sha256Field(o.sha256, "weights.sha256") };
}

function readTensorEntry(json: unknown, index: number, weights: WeightsFile): TensorEntry {
  const o = fields(
    json,
    `tensors[${index}]`,
    ["name", "dtype", "shape", "offset", "byteLength"],
    ["quant"],
  );
  const name = str(o.name, `tensors[${index}].name`);
  const where = `tensor ${quote(name)}`;
  const dtype = choice(o.dtype, `${where} dtype`, DTYPES);
  const shape = readShape(o.shape, `${where} shape`, false) as number[];
  const elements = elementCount(shape, `${where} shape`);
  const offset = int(o.offset, `${where} offset`, 0, FORMAT_LIMITS.weightBytes);
  if (offset % TENSOR_ALIGNMENT !== 0) {
    fail(`${where} offset ${offset} is not a multiple of ${TENSOR_ALIGNMENT}`);
  }
  const byteLength = int(o.byteLength, `${where} byteLength`, 0, FORMAT_LIMITS.weightBytes);
  const expected = elements * DTYPE_BYTES[dtype];
  if (!Number.isSafeInteger(expected) || byteLength !== expected) {
    fail(
      `${where} byteLength ${byteLength} does not match ${dtype} [${shape}], which is ` +
        `${expected} bytes`,
    );
  }
  if (offset + byteLength > weights.byteLength) {
    fail(
      `${where} ends at byte ${offset + byteLength} (offset ${offset} + byteLength ` +
        `${byteLength}), past the end of ${weights.file} (${weights.byteLength} bytes)`,
    );
  }
  const entry: TensorEntry = { name, dtype, shape, offset, byteLength };
  if (o.quant !== undefined) entry.quant = readQuant(o.quant, `${where} quant`, dtype, shape);
  return entry;
}

/** Tensor names are unique and their byte ranges do not overlap. */
function checkLayout(tensors: TensorEntry[]): void {
  const names = new Set<string>();
  for (const t of tensors) {
    if (names.has(t.name)) fail(`tensor name ${quote(t.name)} is used twice`);
    names.add(t.name);
  }
  const stored = tensors.filter((t) => t.byteLength > 0).sort((a, b) => a.offset - b.offset);
  for (let i = 1; i < stored.length; i++) {
    const prev = stored[i - 1];
    const next = stored[i];
    if (next.offset < prev.offset + prev.byteLength) {
      fail(
        `tensors ${quote(prev.name)} (bytes ${prev.offset}..${prev.offset + prev.byteLength}) ` +
          `and ${quote(next.name)} (from byte ${next.offset}) overlap`,
      );
    }
  }
}

function readValueInfo(json: unknown, where: string): ValueInfo {
  const o = fields(json, where, ["name", "dtype", "shape"], ["layout", "quant"]);
  const name = str(o.name, `${where}.name`);
  const at = `${where} ${quote(name)}`;
  const dtype = choice(o.dtype, `${at} dtype`, DTYPES);
  const shape = readShape(o.shape, `${at} shape`, true);
  const info: ValueInfo = { name, dtype, shape };
  if (o.layout !== undefined) {
    info.layout = choice<Layout>(o.layout, `${at} layout`, ["NCHW", "NHWC", "NC", "other"]);
  }
  if (o.quant !== undefined) info.quant = readQuant(o.quant, `${at} quant`, dtype, shape);
  return info;
}

function readNode(json: unknown, index: number): Node {
  const o = fields(json, `graph.nodes[${index}]`, ["name", "op", "inputs", "outputs", "attrs"], []);
  const name = str(o.name, `graph.nodes[${index}].name`);
  const where = `node ${quote(name)}`;
  const op = str(o.op, `${where} op`);
  const inputs = list(o.inputs, `${where} inputs`).map((v, i) =>
    str(v, `${where} inputs[${i}]`, false)
  );
  const outputs = list(o.outputs, `${where} outputs`).map((v, i) =>
    str(v, `${where} outputs[${i}]`)
  );
  if (outputs.length === 0) fail(`${where} (${op}) has no outputs`);
  // fromEntries defines own properties, so even a "__proto__" attribute stays plain data.
  const attrs = Object.fromEntries(
    Object.entries(object(o.attrs, `${where} attrs`)).map(([key, value]) => {
      return [key, readAttr(value, `${where} attribute ${quote(key)}`)];
    }),
  );
  return { name, op, inputs, outputs, attrs };
}

function readAttr(value: unknown, where: string): AttrValue {
  if (typeof value === "string") return value;
  if (typeof value === "number") return finite(value, where);
  if (Array.isArray(value)) {
    if (value.every((v) => typeof v === "string")) return [...value];
    return value.map((v, i) => finite(v, `${where}[${i}]`));
  }
  return fail(`${where} is ${quote(value)}; expected a number, a string or an array of either`);
}

/**
 * Names are unique; every node input is a graph input, an initializer or an output of an
 * earlier node; every graph output is defined.
 */
function checkReferences(graph: Manifest["graph"], tensors: TensorEntry[]): void {
  const defined = new Map<string, string>();
  for (const t of tensors) defined.set(t.name, "an initializer");
  for (const input of graph.inputs) {
    const previous = defined.get(input.name);
    if (previous === "a graph input") fail(`graph input ${quote(input.name)} is listed twice`);
    if (previous !== undefined) {
      fail(`graph input ${quote(input.name)} is also ${previous}; weights are never inputs`);
    }
    defined.set(input.name, "a graph input");
  }
  const nodeNames = new Set<string>();
  for (const node of graph.nodes) {
    const where = `node ${quote(node.name)} (${node.op})`;
    if (nodeNames.has(node.name)) fail(`node name ${quote(node.name)} is used twice`);
    nodeNames.add(node.name);
    node.inputs.forEach((name, i) => {
      if (name !== "" && !defined.has(name)) {
        fail(
          `${where} input ${i} ${quote(name)} is not a graph input, an initializer or an ` +
            `output of an earlier node`,
        );
      }
    });
    for (const name of node.outputs) {
      const previous = defined.get(name);
      if (previous !== undefined) fail(`${where} output ${quote(name)} is already ${previous}`);
      defined.set(name, `the output of node ${quote(node.name)}`);
    }
  }
  const outputs = new Set<string>();
  for (const output of graph.outputs) {
    if (!defined.has(output.name)) fail(`graph output ${quote(output.name)} is never produced`);
    if (outputs.has(output.name)) fail(`graph output ${quote(output.name)} is listed twice`);
    outputs.add(output.name);
  }
}

const ZERO_POINT_RANGE: Partial<Record<DType, readonly [number, number]>> = {
  i8: [-128, 127],
  u8: [0, 255],
  i32: [-(2 ** 31), 2 ** 31 - 1],
};

function readQuant(json: unknown, where: string, dtype: DType, shape: Dim[]): QuantParams {
  const range = ZERO_POINT_RANGE[dtype];
  if (!range) fail(`${where} is given, but dtype ${dtype} is not an integer type`);
  const o = fields(json, where, ["scale", "zeroPoint"], ["axis"]);
  const scale = list(o.scale, `${where}.scale`).map((v, i) => positive(v, `${where}.scale[${i}]`));
  const zeroPoint = list(o.zeroPoint, `${where}.zeroPoint`).map((v, i) =>
    int(v, `${where}.zeroPoint[${i}]`, range[0], range[1])
  );
  const quant: QuantParams = { scale, zeroPoint };
  let count = 1;
  if (o.axis !== undefined) {
    quant.axis = int(o.axis, `${where}.axis`, 0, shape.length - 1);
    const dim = shape[quant.axis];
    if (typeof dim !== "number") fail(`${where}.axis ${quant.axis} is the symbolic dim "${dim}"`);
    count = dim;
  }
  if (scale.length !== count) {
    fail(
      `${where}.scale has ${scale.length} values; ${
        quant.axis === undefined ? "per-tensor" : `axis ${quant.axis} of [${shape}]`
      } needs ${count}`,
    );
  }
  if (zeroPoint.length !== scale.length) {
    fail(`${where}.zeroPoint has ${zeroPoint.length} values but scale has ${scale.length}`);
  }
  return quant;
}

/** The recipe produces what the first graph input takes: dtype, layout, channels, size. */
function checkPreprocessMatchesInput(p: ImagePreprocess, input: ValueInfo | undefined): void {
  if (!input) return fail("preprocess is given but the graph has no inputs");
  const where = `preprocess does not fit graph input ${quote(input.name)}:`;
  if (input.dtype !== p.dtype) fail(`${where} dtype ${p.dtype} vs ${input.dtype}`);
  if (input.layout !== undefined && input.layout !== p.layout) {
    fail(`${where} layout ${p.layout} vs ${input.layout}`);
  }
  if (p.dtype !== "f32" && (input.quant === undefined || input.quant.axis !== undefined)) {
    fail(`${where} ${p.dtype} input needs per-tensor quant params`);
  }
  if (input.shape.length !== 4) fail(`${where} shape [${input.shape}] is not 4-D`);
  const [c, h, w] = p.layout === "NCHW" ? [1, 2, 3] : [3, 1, 2];
  const channels = input.shape[c];
  if (typeof channels === "number" && channels !== 3) {
    fail(`${where} ${channels} channels, but images have 3`);
  }
  const size = p.crop ?? (p.resize.mode === "exact" ? p.resize : undefined);
  const [height, width] = [input.shape[h], input.shape[w]];
  if (typeof height === "number" || typeof width === "number") {
    if (!size) fail(`${where} fixed size ${height}x${width}, but the image size varies`);
    const fits = (dim: Dim, made: number) => typeof dim !== "number" || dim === made;
    if (!fits(height, size.height) || !fits(width, size.width)) {
      fail(`${where} height x width ${height}x${width}, recipe makes ${size.height}x${size.width}`);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Field readers: each checks one JSON value and fails with the field's path and the value.

function fail(message: string): never {
  throw new ManifestError(`Manifest ${message}`);
}

/** A value as it appears in messages: JSON, shortened, or "nothing" when absent. */
function quote(value: unknown): string {
  if (value === undefined) return "nothing";
  if (typeof value === "number" || typeof value === "bigint") return String(value);
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    text = String(value);
  }
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

function object(value: unknown, where: string): Record<string, unknown> {
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    fail(`${where} must be an object, got ${quote(value)}`);
  }
  return value as Record<string, unknown>;
}

/** An object with exactly the `required` keys and any of the `optional` ones. */
function fields(
  value: unknown,
  where: string,
  required: readonly string[],
  optional: readonly string[],
): Record<string, unknown> {
  const o = object(value, where);
  const known = new Set([...required, ...optional]);
  for (const key of Object.keys(o)) {
    if (!known.has(key)) fail(`${where} has an unknown field ${quote(key)}`);
  }
  for (const key of required) {
    if (!Object.hasOwn(o, key)) fail(`${where} is missing the field ${quote(key)}`);
  }
  return o;
}

function list(value: unknown, where: string): unknown[] {
  if (!Array.isArray(value)) fail(`${where} must be an array, got ${quote(value)}`);
  return value;
}

function str(value: unknown, where: string, nonEmpty = true): string {
  if (typeof value !== "string" || (nonEmpty && value === "")) {
    fail(`${where} must be a ${nonEmpty ? "non-empty " : ""}string, got ${quote(value)}`);
  }
  return value;
}

function int(value: unknown, where: string, min: number, max: number): number {
  if (!Number.isSafeInteger(value) || (value as number) < min || (value as number) > max) {
    fail(`${where} must be an integer in [${min}, ${max}], got ${quote(value)}`);
  }
  return value as number;
}

function finite(value: unknown, where: string): number {
  if (typeof value !== "number" || !Number.isFinite(value)) {
    fail(`${where} must be a finite number, got ${quote(value)}`);
  }
  return value;
}

function positive(value: unknown, where: string): number {
  if (finite(value, where) <= 0) fail(`${where} must be positive, got ${quote(value)}`);
  return value as number;
}

function choice<T extends string>(value: unknown, where: string, options: readonly T[]): T {
  if (!options.includes(value as T)) {
    fail(`${where} is ${quote(value)}; expected one of ${options.map(quote).join(", ")}`);
  }
  return value as T;
}

function triple(
  value: unknown,
  where: string,
  item: (v: unknown, where: string) => number,
): [number, number, number] {
  const values = list(value, where);
  if (values.length !== 3) fail(`${where} must have 3 values (R, G, B), got ${quote(value)}`);
  return [
    item(values[0], `${where}[0]`),
    item(values[1], `${where}[1]`),
    item(values[2], `${where}[2]`),
  ];
}

function sha256Field(value: unknown, where: string): string {
  if (typeof value !== "string" || !/^[0-9a-f]{64}$/.test(value)) {
    fail(`${where} must be 64 lowercase hex digits, got ${quote(value)}`);
  }
  return value;
}

/** A shape: non-negative safe integers, or (when `symbolic`) also non-empty dim names. */
function readShape(value: unknown, where: string, symbolic: boolean): Dim[] {
  const dims = list(value, where);
  if (dims.length > FORMAT_LIMITS.rank) {
    fail(`${where} ${quote(value)} has rank ${dims.length}, more than ${FORMAT_LIMITS.rank}`);
  }
  return dims.map((d) => {
    if (symbolic && typeof d === "string" && d !== "") return d;
    if (!Number.isSafeInteger(d) || (d as number) < 0) {
      fail(
        `${where} ${quote(value)} has the dim ${quote(d)}; dims are non-negative integers` +
          (symbolic ? " or names" : ""),
      );
    }
    return d as number;
  });
}

/** Element count of a concrete shape, checked for overflow and the size limit at each step. */
function elementCount(shape: number[], where: string): number {
  let n = 1;
  for (const d of shape) {
    n *= d;
    if (!Number.isSafeInteger(n) || n > FORMAT_LIMITS.tensorElements) {
      fail(`${where} [${shape}] has more than ${FORMAT_LIMITS.tensorElements} elements`);
    }
  }
  return n;
}
