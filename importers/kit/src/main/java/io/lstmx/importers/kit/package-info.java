/**
 * What every format importer needs besides its parser, so that each converts the same way: the
 * abstract values it tracks per source value ({@link io.lstmx.importers.kit.Value}: constant,
 * symbolic shape vector, filled, run-time), symbolic dimensions ({@link io.lstmx.importers.kit.SDim})
 * and their arithmetic ({@link io.lstmx.importers.kit.Shapes}), constant folding through the native
 * runtime's own layers ({@link io.lstmx.importers.kit.Fold}) within a per-conversion memory budget
 * ({@link io.lstmx.importers.kit.FoldBudget}). An importer's node class implements
 * {@link io.lstmx.importers.kit.NodeContext} so that the kit's errors name the file and node in its
 * format's words. Unique IR names come from {@link io.lstmx.util.UniqueNames} in converter-core,
 * which IR passes share.
 */
package io.lstmx.importers.kit;
