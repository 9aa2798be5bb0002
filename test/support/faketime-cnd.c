/*
 * libfaketime shifts the wall clock (gettimeofday, clock_gettime) and adjusts
 * the deadlines given to pthread_cond_timedwait to match. librdkafka computes
 * its deadlines from the shifted clock, then waits with C11 cnd_timedwait,
 * which glibc sends to its internal condition wait without passing through
 * libfaketime: a process 10 minutes ahead waits 10 minutes for every 1 ms
 * wait. Preloaded before libfaketime, this cnd_timedwait takes the public
 * pthread_cond_timedwait, which libfaketime adjusts. Test tooling only.
 */
#include <errno.h>
#include <pthread.h>
#include <threads.h>

int cnd_timedwait(cnd_t *restrict cond, mtx_t *restrict mutex, const struct timespec *restrict time_point) {
  int rc = pthread_cond_timedwait((pthread_cond_t *)cond, (pthread_mutex_t *)mutex, time_point);
  return rc == 0 ? thrd_success : rc == ETIMEDOUT ? thrd_timedout : thrd_error;
}
