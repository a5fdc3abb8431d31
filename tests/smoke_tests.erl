-module(smoke_tests).
-include_lib("eunit/include/eunit.hrl").
smoke_test() -> ?assert(true).
