package io.lstmx.runtime;

import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;
import java.util.function.IntConsumer;

/**
 * A team of persistent threads that run one call's time loop together, step by step: the calling
 * thread is participant 0 and {@code size - 1} daemon workers ("lstmx-team-N-p") are participants
 * 1..size-1. Each participant owns a fixed slice of the layer's hidden units (the same slice on
 * every call, so a worker keeps touching the same part of the weights and they stay in its core's
 * cache) and the participants meet once per time step in {@link #await}: a counter barrier that
 * spins for a few microseconds ({@link Thread#onSpinWait}) and then parks. Dispatching a call
 * publishes the task and wakes the workers (again spin, then park, on their side); nothing is
 * allocated per call or per step here.
 * <p>
 * A team runs one call at a time: {@link #tryAcquire} hands it to a caller only when it is idle,
 * and a caller that does not get it runs the call alone (the kernels give the same bits either
 * way). There is one team per size, created on first use.
 * <p>
 * If a participant throws, the barrier is broken: every participant waiting in it (or arriving
 * later) throws too, and {@link #run} rethrows the first failure on the calling thread.
 */
final class StepTeam {
    /**
     * How long a participant spins at the barrier, or a worker waiting for a task, before parking
     * (property {@code lstmx.spinNanos}). A parked participant costs every later step of the call a
     * wake-up (tens of microseconds each), so a step that once waited longer than this turned a
     * 1 ms call into 2-4 ms; side by side with other engines 500 us measured steadier than 50 us
     * (benchmarks/RESULTS.md, 12:25).
     */
    private static final long SPIN_NANOS = Long.getLong("lstmx.spinNanos", 500_000L);

    private static final boolean DEBUG = Boolean.getBoolean("lstmx.teamDebug");
    private static final StepTeam[] TEAMS = new StepTeam[65];
    /** Calls run by any team so far (for tests: shows that a team was used). */
    static final java.util.concurrent.atomic.AtomicLong CALLS = new java.util.concurrent.atomic.AtomicLong();

    private final int size;
    private final Thread[] threads;
    private final AtomicBoolean busy = new AtomicBoolean();

    // The task of the current call, published by the volatile write of taskSeq.
    private IntConsumer task;
    private volatile long taskSeq;
    /** Participants (workers) that have finished the current task. */
    private final AtomicInteger finished = new AtomicInteger();

    // Barrier: arrivals of the current generation; the last arrival resets it and advances generation.
    private final AtomicInteger arrived = new AtomicInteger();
    private volatile int generation;
    /** Per participant: true while it is (about to be) parked, so that a releaser unparks it. */
    private final AtomicBoolean[] parked;
    private volatile Throwable failure;

    private StepTeam(int size) {
        this.size = size;
        threads = new Thread[size];
        parked = new AtomicBoolean[size];
        for (int p = 0; p < size; p++) {
            parked[p] = new AtomicBoolean();
        }
        for (int p = 1; p < size; p++) {
            int id = p;
            Thread t = new Thread(() -> workerLoop(id), "lstmx-team-" + size + "-" + p);
            t.setDaemon(true);
            threads[p] = t;
        }
        for (int p = 1; p < size; p++) {
            threads[p].start();
        }
    }

    /** The team of {@code size} (2..64) participants if it is idle (then the caller owns it until {@link #release}), else null. */
    static StepTeam tryAcquire(int size) {
        StepTeam t;
        synchronized (TEAMS) {
            t = TEAMS[size];
            if (t == null) {
                t = new StepTeam(size);
                TEAMS[size] = t;
            }
        }
        return t.busy.compareAndSet(false, true) ? t : null;
    }

    void release() {
        busy.set(false);
    }

    int size() {
        return size;
    }

    /**
     * Runs {@code body.accept(p)} for every participant p at once (p = 0 on the calling thread)
     * and returns when all have finished. The body calls {@link #await} the same number of times
     * on every participant.
     */
    void run(IntConsumer body) {
        CALLS.incrementAndGet();
        long start = System.nanoTime();
        callerWait = 0;
        failure = null;
        finished.set(0);
        arrived.set(0); // a failed call may have left arrivals behind
        threads[0] = Thread.currentThread();
        task = body;
        taskSeq = taskSeq + 1; // publishes task (only the owner writes taskSeq)
        for (int p = 1; p < size; p++) {
            LockSupport.unpark(threads[p]);
        }
        try {
            body.accept(0);
        } catch (Throwable e) {
            fail(e);
        }
        // Wait for the workers to finish (spin, then park).
        long deadline = 0;
        int spins = 0;
        while (finished.get() < size - 1) {
            if (deadline == 0) {
                deadline = System.nanoTime() + SPIN_NANOS;
            }
            if ((++spins & 63) != 0 || System.nanoTime() < deadline) {
                Thread.onSpinWait();
            } else {
                parked[0].set(true);
                if (finished.get() < size - 1) {
                    LockSupport.parkNanos(this, 1_000_000L);
                }
                parked[0].set(false);
            }
        }
        task = null;
        long total = System.nanoTime() - start;
        if (DEBUG) {
            System.err.printf("team call %.3f ms, caller waited %.3f ms%n", total / 1e6, callerWait / 1e6);
        }
        // Back off after STRIKES calls in a row that waited more than 2/3 of their time, once the team
        // is warm (its first calls run partly interpreted, unevenly between the threads).
        runs++;
        if (callerWait * 3 > total * 2 && total > 200_000L && runs > WARM_RUNS) {
            if (++strikes >= STRIKES) {
                strikes = 0;
                backOff(System.nanoTime(), BACKOFF_NANOS);
            }
        } else {
            strikes = 0;
        }
        Throwable e = failure;
        failure = null;
        io.lstmx.util.Failures.rethrow(e, null);
    }

    /**
     * Runs independent pieces of one call (for example the two directions of a layer), each once,
     * on the participants (no barrier): every participant claims the next unclaimed piece until
     * none is left, so a worker that is slow to start leaves its share to the others. Returns when
     * all have finished; rethrows the first failure.
     */
    void runPieces(java.util.List<Runnable> pieces) {
        AtomicInteger next = new AtomicInteger();
        int n = pieces.size();
        run(p -> {
            int i;
            while ((i = next.getAndIncrement()) < n) {
                pieces.get(i).run();
            }
        });
    }

    /** Calls this team has run, and consecutive calls that mostly waited (see {@link #run}). */
    private long runs;
    private int strikes;
    private static final int WARM_RUNS = 50;
    /**
     * Consecutive calls that mostly waited before calls run alone for a while (property
     * {@code lstmx.teamStrikes}). Two in a row happen now and then on a quiet machine too (a JIT
     * compiler thread or another process takes the worker's core for a few milliseconds) and
     * then cost a back-off of single-threaded calls (see {@link #BACKOFF_NANOS}); on a busy machine nearly every call waits.
     */
    private static final int STRIKES = Integer.getInteger("lstmx.teamStrikes", 4);

    /** Nanoseconds participant 0 (the caller) spent waiting in {@link #await} during the current call. */
    private long callerWait;

    /**
     * Until when (System.nanoTime) calls should not use a team: set after a call in which the caller
     * spent most of its time waiting for the others (on a machine busy with other work a worker is
     * often descheduled, and every step then waits for it), so that calls run alone for a while
     * and try the team again later.
     */
    private static volatile long backoffUntil;
    /**
     * The shortest back-off (property {@code lstmx.teamBackoffNanos}, default 25 ms); each one that
     * starts within its predecessor's length of the predecessor's end is twice as long, up to
     * {@link #BACKOFF_MAX_NANOS}. A burst of the shared machine's noise (a few milliseconds of
     * another guest on the worker's core) used to cost 200 ms of single-threaded calls, twice as
     * slow at batch 1 (seen in a quarter of the measuring windows of 512,25,1 on a noisy evening);
     * a core taken for good still sends calls to run alone most of the time. 0: never back off.
     */
    private static final long BACKOFF_NANOS = Long.getLong("lstmx.teamBackoffNanos", 25_000_000L);
    /** The longest back-off (unless the shortest is longer). */
    static final long BACKOFF_MAX_NANOS = 400_000_000L;
    /** The length of the last back-off (written only under {@link #backOff}'s lock). */
    private static long lastBackoffNanos;

    /**
     * Starts a back-off at {@code now}: {@code shortest}, or twice the last one (at most
     * {@link #BACKOFF_MAX_NANOS}) if that ended less than its length ago.
     */
    static synchronized void backOff(long now, long shortest) {
        long last = lastBackoffNanos;
        long end = backoffUntil;
        long length = last > 0 && end != 0 && now - end < last ? Math.min(2 * last, Math.max(shortest, BACKOFF_MAX_NANOS)) : shortest;
        lastBackoffNanos = length;
        backoffUntil = now + length;
    }

    /** The length of the back-off in force or last ended (for tests). */
    static synchronized long lastBackoffNanos() {
        return lastBackoffNanos;
    }

    /** For tests: teams are in use again at once, and the next back-off is the shortest (see {@link #backoffUntil}). */
    static synchronized void resetBackoff() {
        backoffUntil = 0;
        lastBackoffNanos = 0;
    }

    /** Whether teams are in use now (not backing off after a call that mostly waited). */
    static boolean worthTrying() {
        long until = backoffUntil;
        return until == 0 || System.nanoTime() - until >= 0;
    }

    /** The per-step barrier: returns once all participants have called it (for this generation). */
    void await(int p) {
        if (p == 0) {
            long t0 = System.nanoTime();
            awaitInner(p);
            callerWait += System.nanoTime() - t0;
        } else {
            awaitInner(p);
        }
    }

    private void awaitInner(int p) {
        int gen = generation;
        if (arrived.incrementAndGet() == size) {
            arrived.set(0);
            generation = gen + 1;
            for (int q = 0; q < size; q++) {
                if (q != p && parked[q].get()) {
                    LockSupport.unpark(threads[q]);
                }
            }
            return;
        }
        long deadline = 0;
        int spins = 0;
        while (generation == gen) {
            if (failure != null) {
                throw new IllegalStateException("another participant of the step team failed", failure);
            }
            if (deadline == 0) {
                deadline = System.nanoTime() + SPIN_NANOS;
            }
            if ((++spins & 63) != 0 || System.nanoTime() < deadline) {
                Thread.onSpinWait();
            } else {
                parked[p].set(true);
                if (generation == gen && failure == null) {
                    LockSupport.parkNanos(this, 1_000_000L);
                }
                parked[p].set(false);
            }
        }
    }

    private void fail(Throwable e) {
        synchronized (this) {
            if (failure == null) {
                failure = e;
            }
        }
        for (int q = 0; q < size; q++) {
            Thread t = threads[q];
            if (t != null) {
                LockSupport.unpark(t);
            }
        }
    }

    private void workerLoop(int p) {
        long seen = 0;
        while (true) {
            long deadline = 0;
            int spins = 0;
            while (taskSeq == seen) {
                if (deadline == 0) {
                    deadline = System.nanoTime() + SPIN_NANOS;
                }
                if ((++spins & 63) != 0 || System.nanoTime() < deadline) {
                    Thread.onSpinWait();
                } else {
                    LockSupport.park(this);
                }
            }
            seen = taskSeq;
            IntConsumer body = task;
            try {
                body.accept(p);
            } catch (Throwable e) {
                fail(e);
            }
            finished.incrementAndGet();
            Thread owner = threads[0];
            if (parked[0].get() && owner != null) {
                LockSupport.unpark(owner);
            }
        }
    }
}
