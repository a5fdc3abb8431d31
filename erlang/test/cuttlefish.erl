%%--------------------------------------------------------------------
%% TEST DOUBLE of the cuttlefish module `cuttlefish' (as bundled with
%% EMQX 4.2.14), used only by tests. Holds the helpers that schema
%% translations call; the mapper itself is cuttlefish_double.
%%--------------------------------------------------------------------
-module(cuttlefish).

-export([conf_get/2, conf_get/3, unset/0, invalid/1, warn/1, otp/2, otp/3]).

%% @doc Value of Variable ("a.b.c" or ["a","b","c"]) in the translated
%% Conf; throws {not_found, Tokens} when absent (the generator turns that
%% into a translation_missing_setting error).
conf_get([H | _] = Variable, Conf) when is_list(H) ->
    case lists:keyfind(Variable, 1, Conf) of
        {Variable, Value} -> Value;
        false -> throw({not_found, Variable})
    end;
conf_get(Variable, Conf) ->
    conf_get(cuttlefish_variable:tokenize(Variable), Conf).

%% @doc Value of Variable, or Default when absent.
conf_get([H | _] = Variable, Conf, Default) when is_list(H) ->
    case lists:keyfind(Variable, 1, Conf) of
        {Variable, Value} -> Value;
        false -> Default
    end;
conf_get(Variable, Conf, Default) ->
    conf_get(cuttlefish_variable:tokenize(Variable), Conf, Default).

%% @doc Called from a translation: leave the target setting unset.
unset() ->
    throw(unset).

%% @doc Called from a translation: reject the configuration with Reason.
invalid(Reason) ->
    throw({invalid, Reason}).

%% @doc Log a warning from a translation.
warn(Str) ->
    logger:warning("~s", [Str]).

%% @doc IfGreater when the running OTP release >= Version, else undefined.
otp(Version, IfGreater) ->
    otp(Version, IfGreater, undefined).

%% @doc IfGreater when the running OTP release >= Version, else IfLess.
otp(Version, IfGreater, IfLess) ->
    case erlang:system_info(otp_release) >= Version of
        true -> IfGreater;
        false -> IfLess
    end.
