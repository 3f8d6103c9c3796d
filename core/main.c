/*
 * main.c -- xdsd's entry point: command line, the main event loop, signals,
 * the pid file, and generations (start, SIGHUP reload, graceful stop).
 *
 * The main thread runs the sources and the aggregator on its own event
 * base; the discovery workers run on theirs (server.c).  A reload builds a
 * complete new generation beside the running one and swaps it in only if
 * every step succeeded -- a bad conf is logged and changes nothing.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/thread.h>
#include <yajl/yajl_version.h>

#include "admin.h"
#include "build.h"
#include "check.h"
#include "config.h"
#include "cycle.h"
#include "log.h"
#include "nodes.h"
#include "sdnotify.h"
#include "server.h"

static xds_cycle_t *cycle;
static struct event_base *main_base;
static const char *conf_arg;
static const char *prefix_arg;
static char *pid_written; /* path of the pid file we wrote */

static void usage(FILE *f)
{
    fprintf(f, "usage: xdsd [-c FILE] [-p PREFIX] [-t | -T] [-V] [-h]\n"
               "  -c FILE    configuration file (default " XDS_CONF_PATH ")\n"
               "  -p PREFIX  resolve relative paths in the conf against PREFIX\n"
               "  -t         check the configuration, plugins and the sources' data (generate and\n"
               "             validate as a build would); print every problem; exit 0 or 1\n"
               "  -T         check the configuration and plugins only (no source is contacted)\n"
               "  -V         print version and build options\n"
               "  -h         this help\n");
}

static void print_version(void)
{
    printf("xdsd version %s\n", XDSD_VERSION);
    printf("plugin ABI %d.%d\n", XDSD_PLUGIN_ABI_MAJOR, XDSD_PLUGIN_ABI_MINOR);
    printf("built with libevent %s, yajl %d.%d.%d\n", event_get_version(), YAJL_MAJOR, YAJL_MINOR,
           YAJL_MICRO);
    printf("configure: prefix=%s conf=%s plugin_dir=%s %s\n", XDS_PREFIX, XDS_CONF_PATH,
           XDS_PLUGIN_DIR, XDS_BUILD_OPTIONS);
}

static void pid_remove(void)
{
    if (pid_written) {
        unlink(pid_written);
        free(pid_written);
        pid_written = NULL;
    }
}

static int pid_write(const char *path)
{
    if (pid_written && path && strcmp(pid_written, path) == 0)
        return XDS_OK;
    pid_remove();
    if (path == NULL)
        return XDS_OK;
    FILE *f = fopen(path, "w");
    if (f == NULL) {
        xds_log(XDS_LOG_EMERG, "cannot write pid file \"%s\": %s", path, strerror(errno));
        return XDS_ERROR;
    }
    fprintf(f, "%ld\n", (long)getpid());
    if (fclose(f) != 0) {
        xds_log(XDS_LOG_EMERG, "cannot write pid file \"%s\": %s", path, strerror(errno));
        return XDS_ERROR;
    }
    pid_written = xds_strdup(path);
    return XDS_OK;
}

static int apply_logging(const xds_cycle_t *c)
{
    char err[XDS_ERRLEN];
    if (xds_log_open(c->error_log ? c->error_log : "stderr", err, sizeof(err)) != XDS_OK) {
        xds_log(XDS_LOG_EMERG, "%s", err);
        return XDS_ERROR;
    }
    xds_log_level = c->log_level;
    return XDS_OK;
}

static int start_sources(xds_cycle_t *c, char *err, size_t errlen)
{
    for (size_t i = 0; i < c->nsources; i++)
        if (xds_source_start(c->sources[i], err, errlen) != XDS_OK)
            return XDS_ERROR;
    return XDS_OK;
}

/* Keep serving a reloaded source's data until it publishes its own. */
static void inherit_documents(xds_cycle_t *to, xds_cycle_t *from)
{
    for (size_t i = 0; i < to->nsources; i++)
        for (size_t k = 0; k < from->nsources; k++)
            if (strcmp(from->sources[k]->name, to->sources[i]->name) == 0 &&
                strcmp(from->sources[k]->plugin->name, to->sources[i]->plugin->name) == 0)
                xds_source_inherit(to->sources[i], from->sources[k]);
}

static int reload(char *err, size_t errlen)
{
    xds_log(XDS_LOG_NOTICE, "SIGHUP: reloading %s", cycle->conf_file);
    xds_cycle_t *next = xds_cycle_load(conf_arg, prefix_arg, err, errlen);
    if (next == NULL) {
        xds_log(XDS_LOG_ERR, "reload failed, keeping the running configuration: %s", err);
        return XDS_ERROR;
    }
    if (start_sources(next, err, errlen) != XDS_OK ||
        xds_admin_configure(main_base, next, err, errlen) != XDS_OK) {
        xds_log(XDS_LOG_ERR, "reload failed, keeping the running configuration: %s", err);
        xds_cycle_free(next);
        return XDS_ERROR;
    }
    if (xds_server_reconfigure(&next->discovery, err, errlen) != XDS_OK) {
        xds_log(XDS_LOG_ERR, "reload failed, keeping the running configuration: %s", err);
        char err2[XDS_ERRLEN];
        if (xds_admin_configure(main_base, cycle, err2, sizeof(err2)) != XDS_OK) {
            xds_log(XDS_LOG_ERR, "%s", err2);
            xds_admin_stop();
        }
        xds_cycle_free(next);
        return XDS_ERROR;
    }
    inherit_documents(next, cycle);
    if (apply_logging(next) != XDS_OK)
        apply_logging(cycle);
    if (pid_write(next->pid) != XDS_OK)
        xds_log(XDS_LOG_ERR, "keeping going without a pid file");
    xds_cycle_t *old = cycle;
    cycle = next;
    xds_build_set_cycle(cycle);
    xds_cycle_free(old);
    xds_build_schedule();
    xds_log(XDS_LOG_NOTICE, "reload complete: %zu source%s", cycle->nsources,
            cycle->nsources == 1 ? "" : "s");
    return XDS_OK;
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
    (void)what;
    (void)arg;
    if (sig == SIGHUP) {
        char err[XDS_ERRLEN];
        xds_sdnotify_reloading();
        int ok = reload(err, sizeof(err)) == XDS_OK;
        xds_sdnotify_reloaded(cycle, ok ? NULL : err);
        return;
    }
    xds_log(XDS_LOG_NOTICE, "%s: shutting down", sig == SIGTERM ? "SIGTERM" : "SIGINT");
    xds_sdnotify_stopping(sig == SIGTERM ? "SIGTERM" : "SIGINT");
    event_base_loopbreak(main_base);
}

int main(int argc, char **argv)
{
    int test_only = 0, conf_only = 0, opt, rc = 1;
    char err[XDS_ERRLEN];

    conf_arg = XDS_CONF_PATH;
    while ((opt = getopt(argc, argv, "c:p:tTVh")) != -1) {
        switch (opt) {
        case 'c':
            conf_arg = optarg;
            break;
        case 'p':
            prefix_arg = optarg;
            break;
        case 't':
            test_only = 1;
            break;
        case 'T':
            test_only = conf_only = 1;
            break;
        case 'V':
            print_version();
            return 0;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 1;
        }
    }
    if (optind != argc) {
        usage(stderr);
        return 1;
    }

    cycle = xds_cycle_load(conf_arg, prefix_arg, err, sizeof(err));
    if (test_only) {
        if (cycle == NULL) {
            fprintf(stderr, "xdsd: [emerg] %s\nxdsd: configuration file %s test failed\n", err,
                    conf_arg);
            return 1;
        }
        fprintf(stderr, "xdsd: configuration file %s syntax is ok\n", cycle->conf_file);
        if (conf_only) {
            xds_cycle_free(cycle);
            return 0;
        }
        xds_log_level = XDS_LOG_CRIT; /* sources' chatter; problems are printed */
        size_t problems = xds_check_data(cycle, 5000);
        fprintf(stderr, "xdsd: configuration file %s test %s", cycle->conf_file,
                problems ? "failed" : "is successful\n");
        if (problems)
            fprintf(stderr, ": %zu problem%s\n", problems, problems == 1 ? "" : "s");
        xds_cycle_free(cycle);
        return problems ? 1 : 0;
    }
    if (cycle == NULL) {
        xds_log(XDS_LOG_EMERG, "%s", err);
        return 1;
    }
    if (apply_logging(cycle) != XDS_OK)
        goto out;

    xds_sdnotify_init();
    evthread_use_pthreads();
    signal(SIGPIPE, SIG_IGN);
    main_base = event_base_new();
    if (main_base == NULL || event_base_priority_init(main_base, 3) != 0) {
        xds_log(XDS_LOG_EMERG, "cannot create the main event loop");
        goto out;
    }
    struct event *sig_ev[3];
    int sigs[3] = {SIGHUP, SIGTERM, SIGINT};
    for (int i = 0; i < 3; i++) {
        sig_ev[i] = evsignal_new(main_base, sigs[i], on_signal, NULL);
        event_add(sig_ev[i], NULL);
    }

    xds_source_set_event_base(main_base);
    xds_source_set_change_handler(xds_build_schedule);
    xds_build_init(main_base);
    xds_build_set_cycle(cycle);

    /* Admin first: once discovery answers, the admin API does too. */
    if (xds_admin_configure(main_base, cycle, err, sizeof(err)) != XDS_OK ||
        xds_server_start(&cycle->discovery, err, sizeof(err)) != XDS_OK) {
        xds_log(XDS_LOG_EMERG, "%s", err);
        goto stop;
    }
    if (start_sources(cycle, err, sizeof(err)) != XDS_OK) {
        xds_log(XDS_LOG_EMERG, "%s", err);
        goto stop;
    }
    if (pid_write(cycle->pid) != XDS_OK)
        goto stop;
    xds_log(XDS_LOG_NOTICE, "xdsd %s started (pid %ld, %zu source%s)", XDSD_VERSION, (long)getpid(),
            cycle->nsources, cycle->nsources == 1 ? "" : "s");
    xds_build_schedule();

    event_base_dispatch(main_base);
    rc = 0;

stop:
    xds_admin_stop();
    xds_server_stop();
    xds_build_shutdown();
    xds_nodes_free();
    for (int i = 0; i < 3; i++)
        event_free(sig_ev[i]);
out:
    xds_cycle_free(cycle);
    if (main_base) {
        /* libevent 2.1 frees a plugin's cancelled DNS lookup on the next
         * pass of the loop: give it that pass. */
        event_base_loop(main_base, EVLOOP_NONBLOCK);
        event_base_free(main_base);
    }
    pid_remove();
    xds_sdnotify_close();
    if (rc == 0)
        xds_log(XDS_LOG_NOTICE, "exited");
    libevent_global_shutdown();
    return rc;
}
