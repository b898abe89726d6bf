package io.lstmx.cli;

import io.lstmx.util.SafeText;

import java.io.PrintWriter;
import java.util.Locale;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * Progress lines on stderr for work that may take a while (reading, compiling, running, comparing),
 * each with the time since the command started: {@code lstmx: [  2.1s] running batch=3 time=7 ...}
 * and, when that step ends, {@code lstmx: [  4.0s] running batch=3 time=7: done in 1.9s}.
 *
 * <p>On a terminal, a step is only announced once it has taken {@link #TERMINAL_DELAY_MS}, and from
 * then on every step is, so that quick commands print nothing but their results while slow ones show
 * where the time goes. The hidden {@code --progress} option shows every step at once (tests, logs);
 * {@code -q} shows none. Lines go to stderr so that stdout (results, --json) stays clean.
 */
final class Progress implements AutoCloseable {
    /** How long a step may run on a terminal before it is announced. */
    static final long TERMINAL_DELAY_MS = 500;

    /** A step of work; closing it without {@link #done} (an exception) ends it quietly. */
    interface Step extends AutoCloseable {
        /** Ends the step, with an optional result summary (null: just the time). */
        void done(String summary);

        @Override
        void close();
    }

    private static final Step SILENT_STEP = new Step() {
        @Override
        public void done(String summary) {
        }

        @Override
        public void close() {
        }
    };

    /** Prints nothing (quiet, or stderr is not a terminal). */
    static final Progress OFF = new Progress(null, -1);

    private final PrintWriter err;
    /** Delay before a step is announced; negative: never. */
    private final long delayMs;
    private final long start = System.nanoTime();
    private ScheduledExecutorService timer;
    /** Once anything was printed, every later step is announced at once. */
    private boolean showing;

    private Progress(PrintWriter err, long delayMs) {
        this.err = err;
        this.delayMs = delayMs;
    }

    /**
     * The progress reporter a command gets: off with {@code quiet}; every step with {@code forced};
     * on a terminal, steps that outlast {@link #TERMINAL_DELAY_MS}; otherwise off.
     */
    static Progress of(PrintWriter err, boolean quiet, boolean forced, boolean terminal) {
        if (quiet || !(forced || terminal)) {
            return OFF;
        }
        return new Progress(err, forced ? 0 : TERMINAL_DELAY_MS);
    }

    boolean enabled() {
        return delayMs >= 0;
    }

    /** Starts a step described by {@code what} (e.g. "reading model.onnx"). */
    Step begin(String what) {
        if (!enabled()) {
            return SILENT_STEP;
        }
        String label = SafeText.oneLine(what);
        long began = System.nanoTime();
        Object lock = this;
        boolean[] announced = new boolean[1];
        ScheduledFuture<?> pending;
        synchronized (lock) {
            if (showing || delayMs == 0) {
                announce(label);
                announced[0] = true;
                pending = null;
            } else {
                pending = timer().schedule(() -> {
                    synchronized (lock) {
                        if (!announced[0]) {
                            announced[0] = true;
                            announce(label);
                        }
                    }
                }, delayMs, TimeUnit.MILLISECONDS);
            }
        }
        return new Step() {
            private boolean ended;

            @Override
            public void done(String summary) {
                synchronized (lock) {
                    if (ended) {
                        return;
                    }
                    ended = true;
                    if (pending != null) {
                        pending.cancel(false);
                    }
                    if (announced[0]) {
                        line(label + (summary == null || summary.isEmpty() ? "" : ": " + SafeText.oneLine(summary))
                                + ": done in " + seconds(System.nanoTime() - began));
                    } else {
                        announced[0] = true; // the timer must not announce a step that is over
                    }
                }
            }

            @Override
            public void close() {
                synchronized (lock) {
                    if (!ended) {
                        ended = true;
                        announced[0] = true;
                        if (pending != null) {
                            pending.cancel(false);
                        }
                    }
                }
            }
        };
    }

    private void announce(String label) {
        showing = true;
        line(label + " ...");
    }

    private void line(String text) {
        err.println("lstmx: [" + String.format(Locale.ROOT, "%6s", seconds(System.nanoTime() - start)) + "] " + text);
        err.flush();
    }

    private static String seconds(long nanos) {
        return String.format(Locale.ROOT, "%.1fs", nanos / 1e9);
    }

    private ScheduledExecutorService timer() {
        if (timer == null) {
            timer = Executors.newSingleThreadScheduledExecutor(r -> {
                Thread t = new Thread(r, "lstmx-progress");
                t.setDaemon(true); // never keeps the JVM alive
                return t;
            });
        }
        return timer;
    }

    /** The command succeeded: says so with the total time when anything was shown. */
    synchronized void finish() {
        if (showing) {
            line("finished");
            showing = false;
        }
    }

    /** Stops the timer (on success and on failure, where the error line follows instead). */
    @Override
    public synchronized void close() {
        if (timer != null) {
            timer.shutdownNow();
            timer = null;
        }
    }
}
