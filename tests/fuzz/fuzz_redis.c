/*
 * fuzz_redis.c -- libFuzzer target for the redis source plugin's handling
 * of what a Redis server sends (plugins/redis/redis.c): the handshake
 * replies (AUTH, SELECT, CONFIG GET notify-keyspace-events, subscription
 * confirmations), pub/sub messages, and the read path -- GET, HGETALL,
 * SCAN with its cursor and de-duplication, MGET in batches, the lexical
 * one-object check of every item (one_object_problem), the collection
 * document (finish_collection) and its hand-over to the host (deliver),
 * through the daemon's real publish().
 *
 * The plugin's decoders are static, so the plugin source is compiled into
 * this file.  Replies are parsed from the input by hiredis's own reply
 * reader (redisReader, the code that parses the socket in production) and
 * handed to the plugin's callbacks in the order the plugin asked for them;
 * commands the plugin sends go into a hiredis async context whose connect
 * failed (they are queued, never sent).  Not reached: connecting,
 * reconnect timers and hiredis's socket I/O (tests/integration covers them
 * against a real redis-server).
 *
 * Input: the first line configures the source: "key", "hash" or "pattern",
 * then optional words collection=NAME, allow_empty, password=P, user=U,
 * db=N, keyspace, channel=C.  The rest is a RESP byte stream: one reply per
 * command the plugin sends, in order (the command connection's handshake,
 * then the subscriber's, then the reads; up to four reads), with pub/sub messages
 * ("*3\r\n$7\r\nmessage\r\n...") allowed between read replies when a subscriber connection is
 * configured.
 *
 * Checked beyond "no crash": whenever the host accepts a collection
 * document, it holds exactly one collection with one item per value that
 * was read -- no value may close the array and smuggle in anything else.
 */
#include "../../plugins/redis/redis.c"

#include "fuzz.h"
#include "host.h"
#include "json.h"

static const xdsd_host_api_t *real_api;
static xdsd_host_api_t wrapped_api;
static redis_state_t *current;

/* publish() as the host's, then check the smuggling promise. */
static int checked_publish(xdsd_source_t *src, const char *json, size_t len, const char *origin)
{
    int rc = real_api->publish(src, json, len, origin);
    const xds_source_t *s = (const xds_source_t *)src;
    redis_state_t *st = current;

    if (rc != XDSD_OK || st == NULL || st->shape == SHAPE_KEY)
        return rc;
    size_t values = 0;
    for (size_t i = 0; i < st->nitems; i++)
        values += st->items[i].value != NULL;
    const xj_t *doc = s->doc;
    const char *coll = st->cf->collection;
    if (doc == NULL || doc->type != XJ_OBJECT || doc->u.obj.n != 1 ||
        strcmp(doc->u.obj.m[0].key, coll) != 0 || doc->u.obj.m[0].val->type != XJ_ARRAY ||
        doc->u.obj.m[0].val->u.arr.n != values) {
        fprintf(stderr, "fuzz_redis: accepted document is not {\"%s\": [%zu items]}:\n%.*s\n", coll,
                values, (int)len, json);
        abort();
    }
    return rc;
}

/* Words of the conf line into cf (strings point into line). */
static int parse_conf_line(char *line, redis_conf_t *cf)
{
    char *save = NULL;
    int shape = 0;
    for (char *w = strtok_r(line, " ", &save); w != NULL; w = strtok_r(NULL, " ", &save)) {
        if (strcmp(w, "key") == 0)
            cf->key = "xds:model", shape++;
        else if (strcmp(w, "hash") == 0)
            cf->hash = "xds:services", shape++;
        else if (strcmp(w, "pattern") == 0)
            cf->pattern = "xds:svc:*", shape++;
        else if (strncmp(w, "collection=", 11) == 0)
            cf->collection = w + 11;
        else if (strcmp(w, "allow_empty") == 0)
            cf->allow_empty = 1;
        else if (strncmp(w, "password=", 9) == 0)
            cf->password = w + 9;
        else if (strncmp(w, "user=", 5) == 0)
            cf->user = w + 5;
        else if (strncmp(w, "db=", 3) == 0)
            cf->database = strtol(w + 3, NULL, 10);
        else if (strcmp(w, "keyspace") == 0)
            cf->keyspace_events = 1;
        else if (strncmp(w, "channel=", 8) == 0 && cf->channel == NULL) {
            static char *list[2];
            list[0] = w + 8;
            list[1] = NULL;
            cf->channel = list;
        } else
            return -1;
    }
    return shape == 1 ? 0 : -1;
}

/* The callback waiting for the next reply of the read in progress. */
static redisCallbackFn *read_callback(const redis_state_t *st)
{
    const char *c = st->read_command;
    if (c == NULL)
        return NULL;
    if (strcmp(c, "GET") == 0)
        return on_get;
    if (strcmp(c, "HGETALL") == 0)
        return on_hgetall;
    if (strcmp(c, "SCAN") == 0)
        return on_scan;
    if (strcmp(c, "MGET") == 0)
        return on_mget;
    return NULL;
}

static int is_pubsub_message(const redisReply *r)
{
    return r->type == REDIS_REPLY_ARRAY && r->elements >= 3 &&
           r->element[0]->type == REDIS_REPLY_STRING &&
           (strcasecmp(r->element[0]->str, "message") == 0 ||
            strcasecmp(r->element[0]->str, "pmessage") == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[XDS_ERRLEN], line[256];
    redis_conf_t cf;
    void *state = NULL;
    struct event_base *base;

    if (size > 128 * 1024)
        return 0;
    const uint8_t *nl = memchr(data, '\n', size);
    if (nl == NULL || (size_t)(nl - data) >= sizeof(line) ||
        memchr(data, '\0', (size_t)(nl - data)))
        return 0;
    memcpy(line, data, (size_t)(nl - data));
    line[nl - data] = '\0';
    memset(&cf, 0, sizeof(cf));
    cf.address = "127.0.0.1:6379";
    if (parse_conf_line(line, &cf) != 0)
        return 0;

    xds_source_t *s =
        fuzz_source_new("source inventory { plugin fuzz; }", 0, &real_api, err, sizeof(err));
    if (s == NULL)
        abort();
    wrapped_api = *real_api;
    wrapped_api.publish = checked_publish;
    if (redis_create(&wrapped_api, (xdsd_source_t *)s, &cf, &state, err, sizeof(err)) != XDSD_OK) {
        fuzz_source_free(s);
        return 0;
    }
    redis_state_t *st = state;
    current = st;

    /* What redis_start and link_open do, minus the connection. */
    base = event_base_new();
    st->base = base;
    st->ev_retry = evtimer_new(base, on_retry, st);
    st->ev_connect_timeout = evtimer_new(base, on_connect_timeout, st);
    st->ev_read_timeout = evtimer_new(base, on_read_timeout, st);
    st->ev_interval = event_new(base, -1, EV_PERSIST, on_interval, st);
    st->ev_debounce = evtimer_new(base, on_debounce, st);
    st->ev_teardown = evtimer_new(base, on_teardown, st);
    st->phase = SESSION_CONNECTING;
    st->cmd.ac = redisAsyncConnectUnix("/nonexistent/xdsd-fuzz.sock");
    if (st->need_subscriber)
        st->sub.ac = redisAsyncConnectUnix("/nonexistent/xdsd-fuzz.sock");
    link_advance(&st->cmd);
    if (st->need_subscriber && st->phase == SESSION_CONNECTING)
        link_advance(&st->sub);

    redisReader *reader = redisReaderCreate();
    redisReaderFeed(reader, (const char *)nl + 1, size - (size_t)(nl + 1 - data));
    int reads = 0;
    for (;;) {
        if (st->phase == SESSION_UP && !st->reading) {
            if (reads++ == 4)
                break;
            read_start(st);
            continue;
        }
        if (st->phase != SESSION_CONNECTING && st->phase != SESSION_UP)
            break;
        void *r = NULL;
        if (redisReaderGetReply(reader, &r) != REDIS_OK || r == NULL)
            break;
        if (st->phase == SESSION_CONNECTING) {
            /* The command link's handshake first, then the subscriber's. */
            redis_link_t *l = st->cmd.ready ? &st->sub : &st->cmd;
            if (l->step == STEP_SUBSCRIBE)
                on_subscription(l->ac, r, l);
            else
                on_handshake_reply(l->ac, r, l);
        } else if (st->need_subscriber && is_pubsub_message(r)) {
            on_subscription(st->sub.ac, r, &st->sub);
        } else {
            redisCallbackFn *cb = read_callback(st);
            if (cb == NULL)
                abort();
            cb(st->cmd.ac, r, st);
        }
        freeReplyObject(r);
    }
    redisReaderFree(reader);
    current = NULL;
    redis_destroy(st);
    event_base_free(base);
    fuzz_source_free(s);
    return 0;
}
