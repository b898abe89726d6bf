package io.lstmx.runtime;

import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.LockSupport;

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
 * <p>
 * The pool is not an executor: its threads spin for a while ({@code lstmx.spinNanos}, 50 µs) after
 * their last piece before they park, so that back-to-back calls (a model run many times, the
 * layers of one model) hand over pieces without a wake-up, and a caller waits only for pieces a
 * pool thread actually took (an executor's caller, counting pieces or not, first had to wait for
 * a pool thread to wake and take its share, some 50 µs per call and milliseconds when the machine
 * is busy: most of a small bidirectional layer's time).
 */
final class Parallel {
    /** Threads a call may use, the calling thread included. */
    static final int THREADS = Math.max(1, Math.min(64,
            Integer.getInteger("lstmx.threads", Runtime.getRuntime().availableProcessors())));

    /** Test hook: the thread count for calls made on this thread (see {@link #withThreads}); null means THREADS. */
    private static final ThreadLocal<Integer> OVERRIDE = new ThreadLocal<>();

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

    /** How long a pool thread with nothing to do, or a caller waiting for its pieces, spins before parking. */
    private static final long SPIN_NANOS = Long.getLong("lstmx.spinNanos", 50_000L);

    /** Calls whose pieces are not all claimed yet, oldest first. */
    private static final ConcurrentLinkedQueue<Job> JOBS = new ConcurrentLinkedQueue<>();
    private static volatile Worker[] workers;

    /** One call's pieces: claimed one at a time by the caller and the pool threads, counted down as they finish. */
    private static final class Job {
        final List<Runnable> pieces;
        final AtomicInteger next = new AtomicInteger();
        final AtomicInteger remaining;
        final AtomicReference<Throwable> failure = new AtomicReference<>();
        final Thread owner = Thread.currentThread();
        volatile boolean ownerParked;

        Job(List<Runnable> pieces) {
            this.pieces = pieces;
            remaining = new AtomicInteger(pieces.size());
        }

        /** Runs unclaimed pieces until none is left. */
        void work() {
            int n = pieces.size();
            int i;
            while ((i = next.getAndIncrement()) < n) {
                try {
                    pieces.get(i).run();
                } catch (Throwable e) {
                    failure.compareAndSet(null, e);
                } finally {
                    if (remaining.decrementAndGet() == 0 && ownerParked) {
                        LockSupport.unpark(owner);
                    }
                }
            }
        }

        boolean claimed() {
            return next.get() >= pieces.size();
        }
    }

    /** A pool thread: takes pieces of queued calls; with none, spins a while, then parks until a call is queued. */
    private static final class Worker implements Runnable {
        final AtomicBoolean parked = new AtomicBoolean();
        Thread thread;

        @Override
        public void run() {
            long idleSince = 0;
            while (true) {
                Job j = JOBS.peek();
                if (j != null) {
                    if (j.claimed()) {
                        JOBS.remove(j);
                    } else {
                        j.work();
                    }
                    idleSince = 0;
                    continue;
                }
                if (idleSince == 0) {
                    idleSince = System.nanoTime();
                }
                if (System.nanoTime() - idleSince < SPIN_NANOS) {
                    Thread.onSpinWait();
                    continue;
                }
                // Announce the park, then look again: a caller queues its job before it reads the flag.
                parked.set(true);
                if (JOBS.peek() == null) {
                    LockSupport.park(this);
                }
                parked.set(false);
                idleSince = 0;
            }
        }
    }

    private static Worker[] workers() {
        Worker[] w = workers;
        if (w == null) {
            synchronized (Parallel.class) {
                w = workers;
                if (w == null) {
                    // At least one thread: withThreads may ask for a split even when THREADS is 1.
                    int size = Math.max(1, THREADS - 1);
                    w = new Worker[size];
                    for (int i = 0; i < size; i++) {
                        w[i] = new Worker();
                        Thread t = new Thread(w[i], "lstmx-runtime-" + (i + 1));
                        t.setDaemon(true);
                        w[i].thread = t;
                        t.start();
                    }
                    workers = w;
                }
            }
        }
        return w;
    }

    /**
     * Runs every piece once and returns when all have finished; rethrows the first failure. The
     * caller claims pieces too and waits only for pieces a pool thread has claimed: it never waits
     * for a pool thread to wake up (on a busy machine that can take milliseconds).
     */
    static void runAll(List<Runnable> pieces) {
        int n = pieces.size();
        int threads = threads();
        if (n == 1 || threads == 1) {
            for (Runnable r : pieces) {
                r.run();
            }
            return;
        }
        Job job = new Job(pieces);
        JOBS.add(job);
        for (Worker w : workers()) {
            if (w.parked.get()) {
                LockSupport.unpark(w.thread);
            }
        }
        job.work();
        JOBS.remove(job);
        // Only pieces already claimed by pool threads can still be running: wait for them.
        long deadline = System.nanoTime() + SPIN_NANOS;
        while (job.remaining.get() > 0) {
            if (System.nanoTime() < deadline) {
                Thread.onSpinWait();
            } else {
                job.ownerParked = true;
                if (job.remaining.get() > 0) {
                    LockSupport.parkNanos(job, 1_000_000L);
                }
                job.ownerParked = false;
            }
        }
        Throwable e = job.failure.get();
        if (e instanceof RuntimeException re) {
            throw re;
        } else if (e instanceof Error er) {
            throw er;
        } else if (e != null) {
            throw new IllegalStateException(e);
        }
    }
}
