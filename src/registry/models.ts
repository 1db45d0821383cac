/**
 * The model registry: every model resin can fetch by name, with its public download URL, byte
 * size and sha256, and how to prepare inputs for it. Pure data and lookup, no file system.
 *
 * Sizes and checksums are copied from `shared/models/README.md` and `shared/models/SHA256SUMS`
 * (onnx/models at commit b1eeaa1a, stm32ai-modelzoo at 7f3764d5, mlcommons/tiny at 1afd2c98);
 * `models_test.ts` checks them against both files. An entry whose checksum is not documented
 * has `sha256: undefined`, and fetching it needs an explicit opt-in.
 *
 * @module
 */

import type { PreprocessPreset } from "../weights/preprocess.ts";

/** What a registry file is: a model in a source format, or a label list. */
export type SourceFormat = "onnx" | "tflite" | "synset";

/** The class-label set a model predicts. */
export type LabelSet = "imagenet" | "cifar10";

/** A file resin can fetch by name and verify. */
export interface RemoteFile {
  /** Registry name, e.g. `"resnet50-v1-7"`. */
  name: string;
  /** File name, used to find the file in a mirror directory. */
  file: string;
  /** Public download URL. */
  url: string;
  /** Exact byte size. */
  size: number;
  /** Lowercase hex sha256, or `undefined` where no checksum is documented. */
  sha256: string | undefined;
  /** Source format. */
  format: SourceFormat;
  /** One-line description. */
  description: string;
}

/** A model: a remote file plus what it takes to run it. */
export interface ModelEntry extends RemoteFile {
  /** Source format of the model file. */
  format: "onnx" | "tflite";
  /** Input preprocessing preset (src/weights/preprocess.ts), or none yet. */
  preprocess: PreprocessPreset | "none";
  /** Label set of the output classes. */
  labels: LabelSet;
  /** Documented top-1 accuracy in percent, where the model card gives one. */
  top1?: number;
}

/** A label list in ImageNet synset form: `<wnid> <name>, <name2>, ...` per line. */
export interface LabelsEntry extends RemoteFile {
  /** Synset text. */
  format: "synset";
}

/** Anything the registry holds. */
export type RegistryEntry = ModelEntry | LabelsEntry;

const ONNX_ZOO = "https://github.com/onnx/models/raw/main/validated/vision/classification";
const STM_ZOO = "https://github.com/STMicroelectronics/stm32ai-modelzoo/raw/main/" +
  "image_classification/preresnet18_pt/Public_pretrainedmodel_public_dataset/Imagenet/" +
  "preresnet18_a025_pt_224";
const MLPERF_TINY = "https://github.com/mlcommons/tiny/raw/master/benchmark/training/" +
  "image_classification/trained_models";

/** An ONNX model zoo classifier (ImageNet, zoo preprocessing) stored as `<name>.onnx`. */
function zooModel(
  folder: "resnet" | "mobilenet" | "shufflenet",
  name: string,
  size: number,
  sha256: string,
  top1: number | undefined,
  description: string,
): ModelEntry {
  const file = `${name}.onnx`;
  const entry: ModelEntry = {
    name,
    file,
    url: `${ONNX_ZOO}/${folder}/model/${file}`,
    size,
    sha256,
    format: "onnx",
    preprocess: "imagenet",
    labels: "imagenet",
    description,
  };
  if (top1 !== undefined) entry.top1 = top1;
  return entry;
}

/** The ImageNet class names (ILSVRC-2012 order), from the ONNX model zoo. */
export const IMAGENET_LABELS: LabelsEntry = {
  name: "imagenet-labels",
  file: "imagenet_synset.txt",
  url: `${ONNX_ZOO}/synset.txt`,
  // The size of the file whose sha256 SHA256SUMS lists (the README gives no byte count).
  size: 31675,
  sha256: "acf75ef0abe89694b19056e0796401068b459c457baa30335f240c7692857355",
  format: "synset",
  description: "ImageNet class names, one synset per line in class-index order",
};

/** Every entry of the registry: the seed models, the int8 stand-ins, ResNet-8 and labels. */
export const REGISTRY: readonly RegistryEntry[] = [
  zooModel(
    "resnet",
    "resnet18-v1-7",
    46820737,
    "4e8f8653e7a2222b3904cc3fe8e304cd8b339ce1d05fd24688162f86fb6df52c",
    69.93,
    "ResNet-18 v1 (MXNet Gluon), fp32, opset 7",
  ),
  zooModel(
    "resnet",
    "resnet34-v1-7",
    87302588,
    "883a41b2e30ddc2e422c108b091b5e70b92d37dc5c345a2c563dcae27971e2cc",
    73.73,
    "ResNet-34 v1 (MXNet Gluon), fp32, opset 7",
  ),
  zooModel(
    "resnet",
    "resnet50-v1-7",
    102583340,
    "af16a04a6ec48ac494065d4439fe9dea590d337b9ca6dc328160ccf04a217b9c",
    74.93,
    "ResNet-50 v1 (MXNet Gluon), fp32, opset 7",
  ),
  zooModel(
    "resnet",
    "resnet101-v1-7",
    178914043,
    "760702f6ec0138f71ebac66f4e95d1c72dc9267a8544f4d4667a53075fd0497c",
    76.48,
    "ResNet-101 v1 (MXNet Gluon), fp32, opset 7",
  ),
  zooModel(
    "resnet",
    "resnet152-v1-7",
    241816206,
    "b0ec92437bf8c9d0739bf9bafdea9638e13f9e3c1e2fb766ad546cc182fd3f6d",
    77.11,
    "ResNet-152 v1 (MXNet Gluon), fp32, opset 7",
  ),
  zooModel(
    "resnet",
    "resnet18-v2-7",
    46806737,
    "3b4d048057854022232aa20bf68262e31718ab7119a17f920b8a2dc1433f824b",
    69.70,
    "ResNet-18 v2 pre-activation (MXNet Gluon), fp32, opset 7",
  ),
  zooModel(
    "resnet",
    "resnet34-v2-7",
    87288587,
    "3d3815e25f4b1ea967e2a526a3b27ef2a03af1725bdc199a63a271c26862d914",
    73.36,
    "ResNet-34 v2 pre-activation (MXNet Gluon), fp32, opset 7",
  ),
  zooModel(
    "resnet",
    "resnet50-v2-7",
    102442452,
    "79102261eb6e5fd7af5d27f41316293e388c5cb691e5d25bfb035c4f64fefe31",
    75.81,
    "ResNet-50 v2 pre-activation (MXNet Gluon), fp32, opset 7",
  ),
  zooModel(
    "resnet",
    "resnet101-v2-7",
    178682301,
    "3a0a819ea0953fb4700b0d98e43540aeee253e5b4c503c552b0c7979fc67767d",
    77.42,
    "ResNet-101 v2 pre-activation (MXNet Gluon), fp32, opset 7",
  ),
  zooModel(
    "resnet",
    "resnet152-v2-7",
    241503848,
    "40fb3f6dd313ba786a2c8077a0ef7d7b4afeda5d037365400d3a7fbc2b1bee64",
    78.20,
    "ResNet-152 v2 pre-activation (MXNet Gluon), fp32, opset 7",
  ),
  zooModel(
    "resnet",
    "resnet50-v1-12",
    102576593,
    "3f03fdef724b22947eed826f1eef1dc5c34151bb4c37d634f1db89dfa2dd1526",
    74.97,
    "ResNet-50 v1, fp32, opset 12",
  ),
  zooModel(
    "resnet",
    "resnet50-caffe2-v1-9",
    102489425,
    "822daa93e11ecd505f282eb16e02d7fa6d7a88a4db0c9f832320798e508ba0dd",
    undefined,
    "ResNet-50 v1 (Caffe2 export), fp32, opset 9, softmax output",
  ),
  zooModel(
    "resnet",
    "resnet50-v1-12-int8",
    25816052,
    "c234f30975989788b4405f25253275aae247ab6dbdd34aaa69ab0a59ff76f6d0",
    74.77,
    "ResNet-50 v1, int8 QOperator (Intel Neural Compressor), opset 12",
  ),
  zooModel(
    "resnet",
    "resnet50-v1-12-qdq",
    25753167,
    "e6429d274805654c79ba68dc886c1efd4eff95393e747c35d3fdab579febd8a0",
    74.43,
    "ResNet-50 v1, int8 QDQ, opset 12",
  ),
  {
    name: "preresnet18_a025_pt_224",
    file: "preresnet18_a025_pt_224.onnx",
    url: `${STM_ZOO}/preresnet18_a025_pt_224.onnx`,
    size: 15766352,
    sha256: "d38c62d5abef7b2bdacfbfbc57dfe9d1f168801033478ba214d6637ea6c24c7e",
    format: "onnx",
    preprocess: "pixels_01",
    labels: "imagenet",
    top1: 60.99,
    description: "STM PreResNet-18 width 0.25, fp32",
  },
  {
    name: "preresnet18_a025_pt_224_qdq_int8",
    file: "preresnet18_a025_pt_224_qdq_int8.onnx",
    url: `${STM_ZOO}/preresnet18_a025_pt_224_qdq_int8.onnx`,
    size: 4058118,
    sha256: "88aaab82976ff089857ae2686e6d567c22bf6578a25c8d95d0417e7bd3237602",
    format: "onnx",
    preprocess: "stm_uint8",
    labels: "imagenet",
    top1: 59.79,
    description: "STM PreResNet-18 width 0.25, int8 QDQ, uint8 input",
  },
  zooModel(
    "mobilenet",
    "mobilenetv2-12-int8",
    3655033,
    "cc028fe6cae7bc11a4ff53cfc9b79c920e8be65ce33a904ec3e2a8f66d77f95f",
    68.30,
    "MobileNet v2, int8 QOperator (stand-in for resnet50-v1-12-int8), opset 12",
  ),
  zooModel(
    "shufflenet",
    "shufflenet-v2-12-qdq",
    2415805,
    "7c536d02e2f6af9569e5f3c7a4d8282060072119524c93c8da71e63876b4722b",
    // The model card documents a top-1 error of 33.88 %.
    66.12,
    "ShuffleNet v2, int8 QDQ (stand-in for resnet50-v1-12-qdq), opset 12, batch 1",
  ),
  {
    name: "mlperf-tiny-resnet8",
    file: "pretrainedResnet.tflite",
    url: `${MLPERF_TINY}/pretrainedResnet.tflite`,
    size: 318144,
    sha256: "b5c0046d6e0328b4956afd6baa29555a29b1f1c65bdd45aaed75b7cd484d9f79",
    format: "tflite",
    preprocess: "none",
    labels: "cifar10",
    description: "MLPerf Tiny ResNet-8 (CIFAR-10), fp32 TFLite, NHWC 32x32",
  },
  {
    name: "mlperf-tiny-resnet8-int8",
    file: "pretrainedResnet_quant.tflite",
    url: `${MLPERF_TINY}/pretrainedResnet_quant.tflite`,
    size: 98496,
    sha256: "3c002613d1b2475eb51dd78dfb85a546c8ae658dee71cf6ade43b022fe205415",
    format: "tflite",
    preprocess: "none",
    labels: "cifar10",
    description: "MLPerf Tiny ResNet-8 (CIFAR-10), full-integer int8 TFLite, NHWC 32x32",
  },
  IMAGENET_LABELS,
];

/**
 * Returns the entry called `name`, or throws an error listing the known names.
 *
 * @example
 * ```ts
 * const entry = findEntry("resnet50-v1-7");
 * console.log(entry.url, entry.size);
 * ```
 */
export function findEntry(
  name: string,
  registry: readonly RegistryEntry[] = REGISTRY,
): RegistryEntry {
  const entry = registry.find((e) => e.name === name);
  if (!entry) {
    throw new Error(
      `Unknown model "${name}"; known models: ${registry.map((e) => e.name).join(", ")}`,
    );
  }
  return entry;
}

/**
 * Parses ImageNet synset text (`n01440764 tench, Tinca tinca` per line) into the first name of
 * each line, in order. Blank lines are ignored; a line without a name is an error.
 *
 * @example
 * ```ts
 * parseSynset("n01440764 tench, Tinca tinca\n"); // ["tench"]
 * ```
 */
export function parseSynset(text: string): string[] {
  const labels: string[] = [];
  text.split(/\r?\n/).forEach((line, i) => {
    if (line.trim() === "") return;
    const match = /^\s*\S+\s+([^,]*[^,\s])/.exec(line);
    if (!match) throw new Error(`Synset line ${i + 1} has no class name: "${line}"`);
    labels.push(match[1].trim());
  });
  return labels;
}
