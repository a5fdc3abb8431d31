-module(host_smoke_tests).
-include_lib("eunit/include/eunit.hrl").
smoke_test() -> ?assert(true).
