/* Two kernel interfaces fio (Debian's, 3.33) needs and the Linux test kernel lacks
 * (guests/linux/skyvm.config: CONFIG_SYSVIPC and CONFIG_TIMERFD off), emulated in user
 * space; bench/io.py preloads this into fio in its guest (LD_PRELOAD).
 *
 * - System V shared memory: fio asks for one segment at start-up (its thread area),
 *   even when its jobs are threads.  Each segment is an anonymous shared mapping, so a
 *   fork()ed child still shares it.  Only shmget(IPC_PRIVATE), shmat, shmdt, shmctl.
 * - timerfd: fio's helper thread arms a one-shot relative timer on a timerfd and
 *   select()s on it.  Here a timerfd is one end of a socket pair, and a thread per timer
 *   writes the 8-byte expiry count to the other end when the timer runs out.  Re-arming
 *   discards an expiry not yet read, as timerfd_settime does.  CLOCK_MONOTONIC only.
 *
 * Nothing here runs on the host side of the benchmark, and neither VMM sees it: it only
 * lets the same fio binary run in the same guest under both. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/shm.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#define MAX_SEGS 64

static struct {
	void *addr;
	size_t size;
} segs[MAX_SEGS];

int shmget(key_t key, size_t size, int flags)
{
	(void)flags;
	if (key != IPC_PRIVATE || size == 0) {
		errno = ENOSYS;
		return -1;
	}
	for (int i = 0; i < MAX_SEGS; i++) {
		if (segs[i].addr)
			continue;
		void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED)
			return -1;
		segs[i].addr = p;
		segs[i].size = size;
		return i + 1;
	}
	errno = ENOSPC;
	return -1;
}

static int seg_ok(int id)
{
	return id >= 1 && id <= MAX_SEGS && segs[id - 1].addr;
}

void *shmat(int id, const void *where, int flags)
{
	(void)where;
	(void)flags;
	if (!seg_ok(id)) {
		errno = EINVAL;
		return (void *)-1;
	}
	return segs[id - 1].addr;
}

int shmdt(const void *addr)
{
	(void)addr; /* the segment stays mapped until the process ends */
	return 0;
}

int shmctl(int id, int cmd, struct shmid_ds *buf)
{
	if (!seg_ok(id)) {
		errno = EINVAL;
		return -1;
	}
	if (cmd == IPC_STAT && buf) {
		memset(buf, 0, sizeof(*buf));
		buf->shm_segsz = segs[id - 1].size;
		return 0;
	}
	if (cmd == IPC_RMID)
		return 0;
	errno = EINVAL;
	return -1;
}

/* ---------------------------------------------------------------- timerfd */

#define MAX_TIMERS 16

struct timer {
	int used;
	int rfd, wfd;            /* the caller's end; the timer thread's end */
	struct timespec due;     /* CLOCK_MONOTONIC; tv_sec == 0 && tv_nsec == 0: disarmed */
	struct timespec every;   /* it_interval */
	pthread_t thread;
};

static struct timer timers[MAX_TIMERS];
static pthread_mutex_t tlock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t tcond;
static pthread_once_t tonce = PTHREAD_ONCE_INIT;

static void tinit(void)
{
	pthread_condattr_t a;
	pthread_condattr_init(&a);
	pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
	pthread_cond_init(&tcond, &a);
	pthread_condattr_destroy(&a);
}

static int ts_armed(const struct timespec *t)
{
	return t->tv_sec || t->tv_nsec;
}

static int ts_le(const struct timespec *a, const struct timespec *b)
{
	return a->tv_sec < b->tv_sec || (a->tv_sec == b->tv_sec && a->tv_nsec <= b->tv_nsec);
}

static struct timespec ts_add(struct timespec a, const struct timespec *b)
{
	a.tv_sec += b->tv_sec;
	a.tv_nsec += b->tv_nsec;
	if (a.tv_nsec >= 1000000000L) {
		a.tv_sec++;
		a.tv_nsec -= 1000000000L;
	}
	return a;
}

static void *timer_main(void *arg)
{
	struct timer *t = arg;
	pthread_mutex_lock(&tlock);
	while (t->used) {
		if (!ts_armed(&t->due)) {
			pthread_cond_wait(&tcond, &tlock);
			continue;
		}
		struct timespec now;
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (!ts_le(&t->due, &now)) {
			pthread_cond_timedwait(&tcond, &tlock, &t->due);
			continue;
		}
		uint64_t one = 1;
		if (send(t->wfd, &one, sizeof(one), MSG_DONTWAIT | MSG_NOSIGNAL) < 0 &&
		    errno != EAGAIN)
			break; /* the caller closed its end */
		if (ts_armed(&t->every))
			t->due = ts_add(now, &t->every);
		else
			t->due = (struct timespec){0, 0};
	}
	t->used = 0;
	close(t->wfd);
	pthread_mutex_unlock(&tlock);
	return NULL;
}

static struct timer *find_timer(int fd)
{
	for (int i = 0; i < MAX_TIMERS; i++)
		if (timers[i].used && timers[i].rfd == fd)
			return &timers[i];
	return NULL;
}

int timerfd_create(int clockid, int flags)
{
	int sv[2];
	if (clockid != CLOCK_MONOTONIC) {
		errno = EINVAL;
		return -1;
	}
	pthread_once(&tonce, tinit);
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return -1;
	if (flags & TFD_NONBLOCK)
		fcntl(sv[0], F_SETFL, fcntl(sv[0], F_GETFL) | O_NONBLOCK);
	pthread_mutex_lock(&tlock);
	struct timer *t = NULL;
	for (int i = 0; i < MAX_TIMERS && !t; i++)
		if (!timers[i].used)
			t = &timers[i];
	if (!t) {
		pthread_mutex_unlock(&tlock);
		close(sv[0]);
		close(sv[1]);
		errno = EMFILE;
		return -1;
	}
	*t = (struct timer){.used = 1, .rfd = sv[0], .wfd = sv[1]};
	if (pthread_create(&t->thread, NULL, timer_main, t) != 0) {
		t->used = 0;
		pthread_mutex_unlock(&tlock);
		close(sv[0]);
		close(sv[1]);
		errno = EAGAIN;
		return -1;
	}
	pthread_detach(t->thread);
	pthread_mutex_unlock(&tlock);
	return sv[0];
}

int timerfd_settime(int fd, int flags, const struct itimerspec *new, struct itimerspec *old)
{
	pthread_mutex_lock(&tlock);
	struct timer *t = find_timer(fd);
	if (!t || !new) {
		pthread_mutex_unlock(&tlock);
		errno = EINVAL;
		return -1;
	}
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	if (old) {
		memset(old, 0, sizeof(*old));
		old->it_interval = t->every;
		if (ts_armed(&t->due) && !ts_le(&t->due, &now)) {
			old->it_value.tv_sec = t->due.tv_sec - now.tv_sec;
			old->it_value.tv_nsec = t->due.tv_nsec - now.tv_nsec;
			if (old->it_value.tv_nsec < 0) {
				old->it_value.tv_sec--;
				old->it_value.tv_nsec += 1000000000L;
			}
		}
	}
	uint64_t stale;
	while (recv(t->rfd, &stale, sizeof(stale), MSG_DONTWAIT) > 0)
		; /* an expiry not yet read is discarded */
	t->every = new->it_interval;
	if (!ts_armed(&new->it_value))
		t->due = (struct timespec){0, 0};
	else if (flags & TFD_TIMER_ABSTIME)
		t->due = new->it_value;
	else
		t->due = ts_add(now, &new->it_value);
	pthread_cond_broadcast(&tcond);
	pthread_mutex_unlock(&tlock);
	return 0;
}

int timerfd_gettime(int fd, struct itimerspec *cur)
{
	struct itimerspec zero = {0};
	return timerfd_settime(fd, 0, &zero, cur) == 0 ? 0 : -1;
}
