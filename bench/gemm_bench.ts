/**
 * The classifier Gemm of ResNet-18 and ResNet-50 (cases.ts), GPU and CPU; the report after
 * the run is described in kernel_suite.ts.
 *
 * ```sh
 * deno task bench bench/gemm_bench.ts
 * ```
 *
 * @module
 */

import { benchKernelFamilies } from "./kernel_suite.ts";

benchKernelFamilies(["gemm"]);
