/** Reference engine that runs TorchScript archives in libtorch through DJL, offline. */
package io.lstmx.references.libtorch;
