package io.lstmx.runtime;

import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Runs independent pieces of one call (for example a recurrent layer's directions or blocks of its
 * batch rows) on the calling thread plus a small shared pool of daemon threads.
 * <p>
 * The number of threads is {@code Runtime.availableProcessors()}, or the system property
 * {@code lstmx.threads} when set (1 turns the pool off), read once. The calling thread always
 * works too and claims pieces itself: a piece waits for a pool thread only if none is free, so a
 * busy pool (several models running at once) never makes a call slower than running it alone on
 * the calling thread. The pool threads only run pieces handed to them here, which never wait for
 * other pieces, so no call can deadlock on the pool.
 */
final class Parallel {
    /** Threads a call may use, the calling thread included. */
    static final int THREADS = Math.max(1, Math.min(64,
            Integer.getInteger("lstmx.threads", Runtime.getRuntime().availableProcessors())));

    /** Test hook: the thread count for calls made on this thread (see {@link #withThreads}); null means THREADS. */
    private static final ThreadLocal<Integer> OVERRIDE = new ThreadLocal<>();

    private static volatile ExecutorService pool;

    private Parallel() {
    }

    /** Threads a call made on the current thread may use, the calling thread included. */
    static int threads() {
        Integer n = OVERRIDE.get();
        return n == null ? THREADS : n;
    }

    /**
     * Runs {@code body} with {@code threads} (1..64) as the thread count of calls made on this
     * thread, whatever {@code lstmx.threads} says: lets tests compare the split and unsplit paths in
     * one JVM. Counts above THREADS split work into more pieces than there are pool threads, which
     * is still correct (surplus pieces wait for a free thread).
     */
    static void withThreads(int threads, Runnable body) {
        if (threads < 1 || threads > 64) {
            throw new IllegalArgumentException("threads must be in [1, 64], got " + threads);
        }
        Integer saved = OVERRIDE.get();
        OVERRIDE.set(threads);
        try {
            body.run();
        } finally {
            OVERRIDE.set(saved);
        }
    }

    private static ExecutorService pool() {
        ExecutorService p = pool;
        if (p == null) {
            synchronized (Parallel.class) {
                p = pool;
                if (p == null) {
                    AtomicInteger n = new AtomicInteger();
                    // At least one thread: withThreads may ask for a split even when THREADS is 1.
                    int size = Math.max(1, THREADS - 1);
                    p = new ThreadPoolExecutor(size, size, 0, TimeUnit.SECONDS, new LinkedBlockingQueue<>(), r -> {
                        Thread t = new Thread(r, "lstmx-runtime-" + n.incrementAndGet());
                        t.setDaemon(true);
                        return t;
                    });
                    pool = p;
                }
            }
        }
        return p;
    }

    /** Runs every piece once and returns when all have finished; rethrows the first failure. */
    static void runAll(List<Runnable> pieces) {
        int n = pieces.size();
        int threads = threads();
        if (n == 1 || threads == 1) {
            for (Runnable r : pieces) {
                r.run();
            }
            return;
        }
        AtomicInteger next = new AtomicInteger();
        CountDownLatch done = new CountDownLatch(n);
        AtomicReference<Throwable> failure = new AtomicReference<>();
        Runnable worker = () -> {
            int i;
            while ((i = next.getAndIncrement()) < n) {
                try {
                    pieces.get(i).run();
                } catch (Throwable e) {
                    failure.compareAndSet(null, e);
                } finally {
                    done.countDown();
                }
            }
        };
        ExecutorService p = pool();
        for (int h = 0; h < Math.min(n, threads) - 1; h++) {
            p.execute(worker);
        }
        worker.run();
        // Only pieces already claimed by pool threads can still be running: wait for them.
        boolean interrupted = false;
        while (true) {
            try {
                done.await();
                break;
            } catch (InterruptedException e) {
                interrupted = true;
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
        io.lstmx.util.Failures.rethrow(failure.get(), null);
    }
}
