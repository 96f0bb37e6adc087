// normkit's thread pool and thread budget. Workers are started lazily, when a call first wants
// them, and live as long as the process (detached; the addon is linked -z nodelete so their code
// stays mapped after a worker thread that loaded it exits). A worker that cannot be started
// (an address-space or process limit) means that call runs on the threads that did start.
//
// Waiting, everywhere: a bounded spin, then sleep on a futex (a condition variable where there is
// none), so an idle pool costs no CPU time that a server's event loop needs. The spin lasts as long
// as the waiting thread's own last part took, from kSpinMin to kSpinMax: back-to-back
// parallel_for calls within one kernel (BatchNorm's statistics then its apply) and back-to-back
// calls from JS find their workers awake, and the threads of a call that ran late (a preempted
// core on a shared machine) are not put to sleep; the CPU time a spin can waste is at most about
// the work its thread just did, and a small call spins only kSpinMin.
#include "parallel.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

#if defined(__linux__)
#include <linux/futex.h>
#include <sched.h>
#include <sys/syscall.h>
#include <unistd.h>
#endif
#if defined(__unix__) || defined(__APPLE__)
#include <pthread.h>
#include <signal.h>
#endif
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

namespace normkit {

namespace {

// kSpinMin: about the gap between two parallel_for calls of one kernel on a busy machine, and a
// small fraction of the smallest call worth two threads (threads_for's grain is ~10 us of work).
// kSpinMax: about what libgomp spins by default. Between them, the spin follows the part's time:
// a 50 us spin after 400 us parts put one BatchNorm's worker to sleep whenever the two halves
// finished more than 50 us apart, and its futex wake-up made the next call 1.1 to 1.2 times
// slower than under OpenMP (bench/ab.js, BatchNorm eval [32, 64, 56, 56], 2 threads).
constexpr std::chrono::microseconds kSpinMin{50};
constexpr std::chrono::microseconds kSpinMax{2000};

using Clock = std::chrono::steady_clock;

// How long a thread that just ran a part of `took` spins before it sleeps.
Clock::duration spin_for(Clock::duration took) {
  return std::min<Clock::duration>(std::max<Clock::duration>(took, kSpinMin), kSpinMax);
}

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  _mm_pause();
#elif defined(__aarch64__)
  asm volatile("yield" ::: "memory");
#endif
}

// Spins until done() or `spin` has passed; true when done().
template <typename Done>
bool spin_until(Done done, Clock::duration spin) {
  const auto until = Clock::now() + spin;
  for (int i = 1;; ++i) {
    if (done()) return true;
    cpu_relax();
    if (i % 64 == 0 && Clock::now() >= until) return done();
  }
}

// Sleeps while `word` holds `value` (may return spuriously); wake_all wakes every sleeper on the
// word. wake_all never reads the word, so it may be called after its owner has gone (a spurious
// wake of whoever sleeps on that address later, which every caller here tolerates).
#if defined(__linux__)
void wait_while(std::atomic<uint32_t>& word, uint32_t value) {
  static_assert(sizeof(std::atomic<uint32_t>) == sizeof(uint32_t), "futex on an atomic");
  syscall(SYS_futex, reinterpret_cast<uint32_t*>(&word), FUTEX_WAIT_PRIVATE, value, nullptr,
          nullptr, 0);
}
void wake_all(std::atomic<uint32_t>* word) {
  syscall(SYS_futex, reinterpret_cast<uint32_t*>(word), FUTEX_WAKE_PRIVATE, INT32_MAX, nullptr,
          nullptr, 0);
}
#else
// Without a futex: a fixed table of mutexes and condition variables, chosen by the word's address
// (as C++20's atomic wait does it). Allocated once and never freed, like the pool.
struct Bucket {
  std::mutex mutex;
  std::condition_variable changed;
};
constexpr size_t kBuckets = 64;
Bucket& bucket_of(const void* word) {
  static Bucket* const buckets = new Bucket[kBuckets];
  return buckets[(reinterpret_cast<uintptr_t>(word) >> 6) % kBuckets];
}
void wait_while(std::atomic<uint32_t>& word, uint32_t value) {
  Bucket& b = bucket_of(&word);
  std::unique_lock<std::mutex> lock(b.mutex);
  if (word.load() == value) b.changed.wait(lock);
}
void wake_all(std::atomic<uint32_t>* word) {
  Bucket& b = bucket_of(word);
  {
    std::lock_guard<std::mutex> lock(b.mutex);
  }
  b.changed.notify_all();
}
#endif

// Leases this thread holds, nested: only the outermost takes threads from the budget. A pool
// worker holds one for good (its caller's lease counts it), so a parallel_for nested in a kernel
// part runs inline on any thread, never waiting for a budget that its own call holds.
thread_local int t_leases = 0;

// One parallel_for call that uses the pool; lives on the caller's stack.
struct Job {
  Job(detail::RangeFn f, void* c, int64_t size, int t) : fn(f), context(c), n(size), threads(t) {}
  detail::RangeFn fn;
  void* context;
  int64_t n;
  int threads;
  // Workers not done yet; kCallerSleeps is set while the caller sleeps on it.
  std::atomic<uint32_t> pending{0};
  std::atomic<bool> failed{false};
  std::exception_ptr error;
};
constexpr uint32_t kCallerSleeps = 1u << 31;

// Runs part t of the job; returns how long it took (the spin that follows it, spin_for).
Clock::duration run_part(Job& job, int t) {
  const int64_t chunk = job.n / job.threads, extra = job.n % job.threads;
  const int64_t begin = t * chunk + std::min<int64_t>(t, extra);
  const int64_t end = begin + chunk + (t < extra ? 1 : 0);
  if (begin >= end) return Clock::duration::zero();
  const auto start = Clock::now();
  try {
    job.fn(job.context, t, begin, end);
  } catch (...) {
    // The first exception is rethrown on the calling thread once every part has finished.
    if (!job.failed.exchange(true)) job.error = std::current_exception();
  }
  return Clock::now() - start;
}

struct Worker {
  // Bit 0: the worker sleeps on it; bits 1 and up: the number of jobs posted to it.
  std::atomic<uint32_t> signal{0};
  // Written by the poster before it posts, while it owns the worker (taken from the idle list).
  Job* job = nullptr;
  int index = 0;
};

struct Pool {
  std::mutex mutex;
  std::vector<Worker*> idle;
  std::atomic<int> started{0};
};
// Never destroyed: workers may still be sleeping on it while the process exits.
Pool& pool() {
  static Pool* const p = new Pool;
  return *p;
}

void post(Worker* w, Job* job, int index) {
  w->job = job;
  w->index = index;
  if (w->signal.fetch_add(2, std::memory_order_acq_rel) & 1u) wake_all(&w->signal);
}

// Waits for the next post after `seen` posts, spinning `spin` first; returns the post count.
uint32_t await_post(Worker* w, uint32_t seen, Clock::duration spin) {
  uint32_t v = 0;
  const auto posted = [&] {
    return ((v = w->signal.load(std::memory_order_acquire)) >> 1) != seen;
  };
  if (spin_until(posted, spin)) return v >> 1;
  for (;;) {
    if (posted()) {
      if (v & 1u) w->signal.fetch_and(~1u, std::memory_order_relaxed);
      return v >> 1;
    }
    if (!(v & 1u) && !w->signal.compare_exchange_weak(v, v | 1u, std::memory_order_acq_rel)) {
      continue;
    }
    wait_while(w->signal, v | 1u);
  }
}

void worker_main(Worker* w) {
  // Named for top -H, debuggers, and the test that checks idle workers use no CPU time.
#if defined(__linux__)
  pthread_setname_np(pthread_self(), "normkit-pool");
#elif defined(__APPLE__)
  pthread_setname_np("normkit-pool");
#endif
  t_leases = 1;  // a nested parallel_for on a worker runs inline
  uint32_t seen = 0;
  Clock::duration took = Clock::duration::zero();
  for (;;) {
    seen = await_post(w, seen, spin_for(took));
    Job* job = w->job;
    took = run_part(*job, w->index);
    // Idle again before reporting done: once the caller sees its job done, every worker it used
    // can be posted to again, so back-to-back calls never start extra threads.
    {
      std::lock_guard<std::mutex> lock(pool().mutex);
      pool().idle.push_back(w);
    }
    // The last touch of the job: the caller may return as soon as this lands.
    if (job->pending.fetch_sub(1, std::memory_order_acq_rel) == (kCallerSleeps | 1u)) {
      wake_all(&job->pending);
    }
  }
}

// Starts one worker, owned by the caller; null when the system refuses a thread.
Worker* start_worker() {
  Worker* w = nullptr;
  bool counted = false;
  try {
    w = new Worker;
    {
      // Counted, and room made in the idle list for every worker counted, before it starts: a
      // worker going idle never allocates.
      std::lock_guard<std::mutex> lock(pool().mutex);
      pool().idle.reserve(static_cast<size_t>(pool().started.load()) + 1);
      pool().started.fetch_add(1);
      counted = true;
    }
#if defined(__unix__) || defined(__APPLE__)
    // Workers take no signals: they are for the threads that expect them (Node's, the caller's).
    sigset_t all, before;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &before);
    try {
      std::thread(worker_main, w).detach();
    } catch (...) {
      pthread_sigmask(SIG_SETMASK, &before, nullptr);
      throw;
    }
    pthread_sigmask(SIG_SETMASK, &before, nullptr);
#else
    std::thread(worker_main, w).detach();
#endif
  } catch (...) {
    // std::system_error (the thread) or std::bad_alloc (its record): fewer threads this call;
    // a later call tries again.
    if (counted) pool().started.fetch_sub(1);
    delete w;
    return nullptr;
  }
  return w;
}

void wait_done(Job& job, Clock::duration spin) {
  uint32_t v = 0;
  const auto done = [&] {
    return ((v = job.pending.load(std::memory_order_acquire)) & ~kCallerSleeps) == 0;
  };
  if (spin_until(done, spin)) return;
  while (!done()) {
    if (!(v & kCallerSleeps) &&
        !job.pending.compare_exchange_weak(v, v | kCallerSleeps, std::memory_order_acq_rel)) {
      continue;
    }
    wait_while(job.pending, v | kCallerSleeps);
  }
}

int detect_hardware_threads() {
#if defined(__linux__)
  // The CPUs this process may run on (taskset, a container's cpuset), as OpenMP counted them.
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof(set), &set) == 0) return std::max(1, CPU_COUNT(&set));
#endif
  return std::max(1u, std::thread::hardware_concurrency());
}

// The starting budget: OMP_NUM_THREADS when it is an integer from 1 to 4 times the hardware
// threads (its first entry, as OpenMP reads a list; kept from the OpenMP builds), else all
// hardware threads. NORMKIT_NUM_THREADS, read by lib/threads.ts at load, overrides it.
int initial_threads() {
  const int hardware = hardware_threads();
  if (const char* v = std::getenv("OMP_NUM_THREADS")) {
    char* end = nullptr;
    const long n = std::strtol(v, &end, 10);
    if (end != v && (*end == '\0' || *end == ',') && n >= 1 && n <= 4L * hardware) {
      return static_cast<int>(n);
    }
  }
  return hardware;
}

std::atomic<int> g_num_threads{initial_threads()};

// Threads of the budget not in use; may go negative for a while after the budget shrinks.
std::atomic<int> g_free{g_num_threads.load()};
std::mutex g_mutex;
std::condition_variable g_freed;
std::atomic<int> g_waiters{0};

}  // namespace

int threads_for(int64_t work, int64_t grain) {
  if (work <= 0) return 1;
  const int64_t useful = std::max<int64_t>(1, work / std::max<int64_t>(1, grain));
  return static_cast<int>(std::min<int64_t>(useful, get_num_threads()));
}

namespace detail {

void run_on_pool(int threads, int64_t n, RangeFn fn, void* context) {
  const int want = threads - 1;
  std::vector<Worker*> helpers;
  helpers.reserve(static_cast<size_t>(want));
  {
    std::lock_guard<std::mutex> lock(pool().mutex);
    std::vector<Worker*>& idle = pool().idle;
    while (static_cast<int>(helpers.size()) < want && !idle.empty()) {
      helpers.push_back(idle.back());
      idle.pop_back();
    }
  }
  while (static_cast<int>(helpers.size()) < want) {
    Worker* w = start_worker();
    if (!w) break;
    helpers.push_back(w);
  }
  Job job(fn, context, n, static_cast<int>(helpers.size()) + 1);
  job.pending.store(static_cast<uint32_t>(helpers.size()), std::memory_order_relaxed);
  for (size_t i = 0; i < helpers.size(); ++i) post(helpers[i], &job, static_cast<int>(i) + 1);
  const Clock::duration took = run_part(job, 0);
  if (!helpers.empty()) wait_done(job, spin_for(took));
  if (job.error) std::rethrow_exception(job.error);
}

}  // namespace detail

int acquire_threads(int want) {
  if (t_leases++ > 0) return 1;
  want = std::max(1, want);
  int free = g_free.load(std::memory_order_relaxed);
  for (;;) {
    // The uncontended path: one compare-and-swap, no lock (small calls pay almost nothing).
    while (free > 0) {
      const int take = std::min(want, free);
      if (g_free.compare_exchange_weak(free, free - take, std::memory_order_acquire)) return take;
    }
    std::unique_lock<std::mutex> lock(g_mutex);
    g_waiters.fetch_add(1);
    g_freed.wait(lock, [&] { return (free = g_free.load()) > 0; });
    g_waiters.fetch_sub(1);
  }
}

void release_threads(int threads) {
  if (--t_leases > 0) return;
  g_free.fetch_add(threads);
  // Only when someone sleeps: a waiter registers before it checks, and both sides are
  // sequentially consistent, so either it sees these threads free or this sees it waiting. Taking
  // the lock orders the wake-up after its check.
  if (g_waiters.load() > 0) {
    {
      std::lock_guard<std::mutex> lock(g_mutex);
    }
    g_freed.notify_all();
  }
}

int hardware_threads() {
  static const int threads = detect_hardware_threads();
  return threads;
}

int get_num_threads() { return g_num_threads.load(std::memory_order_relaxed); }

void set_num_threads(int threads) {
  threads = std::max(1, threads);
  const int before = g_num_threads.exchange(threads, std::memory_order_relaxed);
  g_free.fetch_add(threads - before, std::memory_order_relaxed);
  if (threads > before) {
    // Wake the callers waiting for the threads just added.
    if (g_waiters.load() > 0) {
      {
        std::lock_guard<std::mutex> lock(g_mutex);
      }
      g_freed.notify_all();
    }
  }
}

bool multithreaded() { return true; }

int pool_threads() { return pool().started.load(std::memory_order_relaxed); }

}  // namespace normkit
