/** Reference engine that runs TensorFlow SavedModels and frozen GraphDefs in TensorFlow Java (TensorFlow 2.18), offline. */
package io.lstmx.references.tensorflow;
