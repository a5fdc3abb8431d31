//! Atoms the SDK reads and writes. Atoms are never made from client data.

rustler::atoms! {
    ok, stop, error, undefined, true_ = "true", false_ = "false", inline, pool, queue,
    auto,
    allow, deny, publish, subscribe, success, message, shutdown, nossl, panic, decode,
    encode, not_started, ignore, pending, overload,
    // conninfo / clientinfo
    socktype, peername, sockname, peercert, conn_mod, proto_name, proto_ver, clean_start,
    keepalive, clientid, username, password, conn_props, receive_maximum, expiry_interval,
    connected_at, disconnected_at, disconn_props, zone, protocol, peerhost, sockport,
    mountpoint, is_bridge, is_superuser, anonymous, auth_result, cn, dn,
    tcp, ssl, proxy, ws,
    // sessinfo / subopts
    subscriptions, upgrade_qos, retry_interval, await_rel_timeout, created_at, qos, rh, rap,
    nl, share, subid, is_new, sub_props, unsub_props,
    // message
    dup, retain, sys, properties, allow_publish, puback_props, retained, deliver_begin_at,
    // driver config and spec
    path, call_timeout, pool_size, failed_action, emqx_version, init_args, logger, topics,
    mode, node, calls, errors, panics, timeouts, overloads, dropped, hooks, library,
    notify_queue_size, hook_priority, mode_overrides, overflow, drop_oldest, drop_newest,
    cut, queued, in_flight, workers, pool_max_size, async_max_in_flight, demoted,
    hold_notifications,
    // what a NIF raises when a panic escapes the SDK's containment (as rustler's do)
    nif_panicked,
}
