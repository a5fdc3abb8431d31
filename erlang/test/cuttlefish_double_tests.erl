%% Tests of the cuttlefish test double, and of the plugin's schema and
%% shipped conf mapped through it.
-module(cuttlefish_double_tests).

-include_lib("eunit/include/eunit.hrl").

schema() ->
    emqx_double:repo_path("erlang/priv/emqx_rust_hook.schema").

shipped_conf() ->
    emqx_double:repo_path("erlang/etc/emqx_rust_hook.conf").

map(Text) ->
    cuttlefish_double:map_string(schema(), Text).

drivers(Text) ->
    {ok, [{emqx_rust_hook, [{drivers, Drivers}]}]} = map(Text),
    Drivers.

rust(Text) ->
    proplists:get_value(rust, drivers(Text)).

%%--------------------------------------------------------------------
%% The plugin schema
%%--------------------------------------------------------------------

shipped_conf_test() ->
    ?assertEqual(
       {ok, [{emqx_rust_hook,
              [{drivers,
                [{rust, [{path, "libexample_hook.so"},
                         {call_timeout, 5000},
                         {hook_priority, 0},
                         {pool_size, 8},
                         {pool_max_size, 256},
                         {async_max_in_flight, 10000},
                         {failed_action, ignore},
                         {notify_queue_size, 10000},
                         {overflow, drop_newest},
                         {latency_sample, 16},
                         {reload_drain, 15000},
                         {init_args, []}]}]}]}]},
       cuttlefish_double:map(schema(), shipped_conf())).

all_keys_set_test() ->
    Rust = rust("## a comment\n"
                "# another comment\n"
                "\n"
                "exhook.drivers = rust\r\n"
                "exhook.drivers.rust.path = /opt/hooks/libmy_hook.so\n"
                "   exhook.drivers.rust.call_timeout = 1m30s   \n"
                "exhook.drivers.rust.hook_priority = -5\n"
                "exhook.drivers.rust.pool_size = 2\n"
                "exhook.drivers.rust.pool_max_size = 3\n"
                "exhook.drivers.rust.async_max_in_flight = 4\n"
                "exhook.drivers.rust.failed_action = deny\n"
                "exhook.drivers.rust.notify_queue_size = 5\n"
                "exhook.drivers.rust.overflow = drop_oldest\n"
                "exhook.drivers.rust.latency_sample = 0\n"
                "exhook.drivers.rust.reload_drain = 1m\n"),
    ?assertEqual([{path, "/opt/hooks/libmy_hook.so"}, {call_timeout, 90000},
                  {hook_priority, -5}, {pool_size, 2}, {pool_max_size, 3},
                  {async_max_in_flight, 4}, {failed_action, deny},
                  {notify_queue_size, 5}, {overflow, drop_oldest}, {latency_sample, 0},
                  {reload_drain, 60000}, {init_args, []}], Rust).

defaults_test() ->
    ?assertEqual([{rust, [{path, "p"}, {call_timeout, 5000}, {hook_priority, 0},
                          {pool_size, 8}, {pool_max_size, 256}, {async_max_in_flight, 10000},
                          {failed_action, ignore}, {notify_queue_size, 10000},
                          {overflow, drop_newest}, {latency_sample, 16}, {reload_drain, 15000},
                          {init_args, []}]}],
                 drivers("exhook.drivers.rust.path = p\n")).

durations_test_() ->
    [?_assertEqual(Ms, proplists:get_value(call_timeout,
                                           rust("exhook.drivers.rust.path = p\n"
                                                "exhook.drivers.rust.call_timeout = " ++ D)))
     || {D, Ms} <- [{"500ms", 500}, {"5s", 5000}, {"1m", 60000}, {"1.5s", 1500},
                    {"1h1s", 3601000}, {".5s", 500}, {"2S", 2000}]].

bad_duration_test_() ->
    [?_assertMatch({error, {transform_datatypes,
                            [{transform_type, "exhook.drivers.rust.call_timeout"},
                             {duration, D}]}},
                   map("exhook.drivers.rust.path = p\nexhook.drivers.rust.call_timeout = " ++ D))
     || D <- ["5000", "5 s", "abc", "5x"]].

enum_error_test() ->
    ?assertEqual({error, {transform_datatypes,
                          [{transform_type, "exhook.drivers.rust.failed_action"},
                           {enum_name, {"maybe", ["ignore", "deny"]}}]}},
                 map("exhook.drivers.rust.path = p\nexhook.drivers.rust.failed_action = maybe\n")),
    ?assertMatch({error, {transform_datatypes, [{transform_type, "exhook.drivers.rust.overflow"} | _]}},
                 map("exhook.drivers.rust.path = p\nexhook.drivers.rust.overflow = drop_all\n")),
    ?assertMatch({error, {transform_datatypes, [{transform_type, "exhook.drivers.rust.pool_size"},
                                                {conversion, {"eight", integer}}]}},
                 map("exhook.drivers.rust.path = p\nexhook.drivers.rust.pool_size = eight\n")).

validation_test() ->
    ?assertEqual({error, {validation, [{validation, {"exhook.drivers.rust.pool_size",
                                                     "must be an integer >= 1"}}]}},
                 map("exhook.drivers.rust.path = p\nexhook.drivers.rust.pool_size = 0\n")),
    ?assertMatch({error, {validation, [_]}},
                 map("exhook.drivers.rust.path = p\nexhook.drivers.rust.notify_queue_size = -1\n")),
    ?assertEqual({error, {validation, [{validation, {"exhook.drivers.rust.latency_sample",
                                                     "must be an integer >= 0"}}]}},
                 map("exhook.drivers.rust.path = p\nexhook.drivers.rust.latency_sample = -1\n")).

init_extras_test() ->
    Rust = rust("exhook.drivers.rust.path = p\n"
                "exhook.drivers.rust.init.zeta = last one\n"
                "exhook.drivers.rust.init.db_url = postgres://localhost:5432/db\n"
                "exhook.drivers.rust.init.with\\.dot = a # not a comment\n"
                "exhook.drivers.rust.init.zeta = replaced\n"),
    ?assertEqual([{"db_url", "postgres://localhost:5432/db"},
                  {"with.dot", "a # not a comment"},
                  {"zeta", "replaced"}],
                 proplists:get_value(init_args, Rust)).

failed_action_overrides_test() ->
    Rust = rust("exhook.drivers.rust.path = p\n"
                "exhook.drivers.rust.failed_action.client_authenticate = deny\n"
                "exhook.drivers.rust.failed_action.client_check_acl = ignore\n"
                "exhook.drivers.rust.failed_action.message_publish = deny\n"),
    ?assertEqual(ignore, proplists:get_value(failed_action, Rust)),
    ?assertEqual([{'client.authenticate', deny}, {'client.check_acl', ignore},
                  {'message.publish', deny}],
                 proplists:get_value(failed_action_overrides, Rust)),
    ?assertMatch({error, {apply_translations,
                          [{translation_invalid_configuration, {"emqx_rust_hook.drivers", _}}]}},
                 map("exhook.drivers.rust.path = p\n"
                     "exhook.drivers.rust.failed_action.client_foo = deny\n")),
    ?assertMatch({error, {transform_datatypes, _}},
                 map("exhook.drivers.rust.path = p\n"
                     "exhook.drivers.rust.failed_action.client_connect = maybe\n")).

drivers_list_test() ->
    Drivers = drivers("exhook.drivers = rust, python3 ,rust,,java\n"
                      "exhook.drivers.rust.path = p\n"),
    ?assertEqual([rust, python3, java], [N || {N, _} <- Drivers]),
    ?assertEqual([], proplists:get_value(python3, Drivers)),
    %% no rust in the list: its settings are not required
    ?assertEqual([{python3, []}], drivers("exhook.drivers = python3\n")).

missing_path_test() ->
    ?assertEqual({error, {apply_translations,
                          [{translation_missing_setting,
                            {"emqx_rust_hook.drivers", "exhook.drivers.rust.path"}}]}},
                 map("exhook.drivers.rust.pool_size = 3\n")).

unknown_key_test() ->
    ?assertEqual({error, {transform_datatypes, [{unknown_variable, "exhook.drivers.rust.paht"}]}},
                 map("exhook.drivers.rust.path = p\nexhook.drivers.rust.paht = q\n")),
    ?assertMatch({error, {transform_datatypes, [{unknown_variable, "exhook.drivers.python3.path"}]}},
                 map("exhook.drivers = python3\nexhook.drivers.python3.path = /x\n")).

conf_syntax_test() ->
    ?assertEqual({error, {conf_parse, [{conf_syntax, {2, "this is not a setting"}}]}},
                 map("exhook.drivers.rust.path = p\nthis is not a setting\n")),
    ?assertMatch({error, {conf_parse, [{conf_syntax, {1, _}}]}},
                 map("exhook.drivers.rust.path =\n")),
    ?assertMatch({ok, _}, map("{{ placeholder line }}\nexhook.drivers.rust.path = p")).

%%--------------------------------------------------------------------
%% Generator behaviour on a small inline schema
%%--------------------------------------------------------------------

inline_schema() ->
    {ok, Schema} = cuttlefish_double:parse_schema(
                     "{mapping, \"a.b\", \"app.direct\", [{datatype, integer}, {default, 1}]}.\n"
                     "{mapping, \"a.flag\", \"app.flag\", [{datatype, flag}, {default, off}]}.\n"
                     "{mapping, \"a.atom\", \"app.atom\", [{datatype, atom}]}.\n"
                     "{mapping, \"a.list\", \"app.list\", [{datatype, {list, integer}}]}.\n"
                     "{mapping, \"n.$name.x\", \"app.names\", [{datatype, string}, {default, \"dx\"}]}.\n"
                     "{mapping, \"n.$name.y\", \"app.names\", [{datatype, string}]}.\n"
                     "{translation, \"app.names\", fun(Conf) ->\n"
                     "   lists:sort([{N, V} || {[\"n\", N, \"x\"], V} <- Conf])\n"
                     "end}.\n"
                     "{mapping, \"s.v\", \"app.sub\", [{datatype, string}]}.\n"),
    Schema.

map_inline(Text) ->
    {ok, Conf} = cuttlefish_double:parse_conf(Text),
    cuttlefish_double:map_terms(inline_schema(), Conf).

generator_test() ->
    {ok, [{app, Env}]} = map_inline("a.flag = on\na.atom = hello\na.list = 1, 2,3\n"
                                    "n.one.y = why\nn.two.x = given\n"
                                    "s.v = x-$(a.atom)-y\na.atom = hello\n"),
    ?assertEqual(1, proplists:get_value(direct, Env)),             %% default
    ?assertEqual(true, proplists:get_value(flag, Env)),
    ?assertEqual(hello, proplists:get_value(atom, Env)),
    ?assertEqual([1, 2, 3], proplists:get_value(list, Env)),
    %% fuzzy default added for every $name seen in the conf
    ?assertEqual([{"one", "dx"}, {"two", "given"}], proplists:get_value(names, Env)),
    ?assertEqual("x-hello-y", proplists:get_value(sub, Env)),     %% $(var)
    %% nothing set: mappings without default are left out, a translation
    %% still runs when one of its mappings has a default
    {ok, [{app, Env2}]} = map_inline(""),
    ?assertEqual([direct, flag, names], lists:sort(proplists:get_keys(Env2))),
    ?assertEqual([], proplists:get_value(names, Env2)),
    ?assertMatch({error, {rhs_subs, [{substitution_missing_config, _}]}},
                 map_inline("s.v = $(nope)\n")).

schema_errors_test() ->
    ?assertMatch({error, {schema, _}}, cuttlefish_double:parse_schema("{mapping, \"a\", ")),
    ?assertMatch({error, {schema, [{unknown_schema_element, {foo}}]}},
                 cuttlefish_double:parse_schema("{foo}.")).

%%--------------------------------------------------------------------
%% cuttlefish / cuttlefish_variable helpers
%%--------------------------------------------------------------------

variable_test() ->
    ?assertEqual(["a", "b.c", "d"], cuttlefish_variable:tokenize("a.b\\.c.d")),
    ?assertEqual("a.b\\.c.d", cuttlefish_variable:format(["a", "b.c", "d"])),
    Conf = [{["x", "a"], 1}, {["y"], 2}, {["x", "b", "c"], 3}],
    ?assertEqual([{["x", "a"], 1}, {["x", "b", "c"], 3}],
                 cuttlefish_variable:filter_by_prefix("x", Conf)),
    ?assertEqual([{["x", "b", "c"], 3}],
                 cuttlefish_variable:filter_by_prefix(["x", "b"], Conf)).

conf_get_test() ->
    Conf = [{["a", "b"], 1}],
    ?assertEqual(1, cuttlefish:conf_get("a.b", Conf)),
    ?assertEqual(1, cuttlefish:conf_get(["a", "b"], Conf)),
    ?assertEqual(d, cuttlefish:conf_get("a.c", Conf, d)),
    ?assertThrow({not_found, ["a", "c"]}, cuttlefish:conf_get("a.c", Conf)),
    ?assertThrow(unset, cuttlefish:unset()),
    ?assertThrow({invalid, "x"}, cuttlefish:invalid("x")).

duration_units_test() ->
    ?assertEqual(2, cuttlefish_double:parse_duration("1500ms", s)),   %% rounded up
    ?assertEqual(60, cuttlefish_double:parse_duration("1h", m)),
    ?assertEqual(1, cuttlefish_double:parse_duration("1ms", h)),
    ?assertEqual(5000, cuttlefish_double:from_string(5000, {duration, ms})).
