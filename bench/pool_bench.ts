/**
 * ResNet's stem max pool and head global average pool (cases.ts), GPU and CPU; the report
 * after the run is described in kernel_suite.ts.
 *
 * ```sh
 * deno task bench bench/pool_bench.ts
 * ```
 *
 * @module
 */

import { benchKernelFamilies } from "./kernel_suite.ts";

benchKernelFamilies(["max pool 3x3/2", "global average pool"]);
