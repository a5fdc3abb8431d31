%%--------------------------------------------------------------------
%% TEST DOUBLE of cuttlefish's conf parser + schema reader + generator
%% (cuttlefish as bundled with EMQX 4.2.14), used only by tests.
%%
%% map(SchemaFile, ConfFile) turns a .conf file into application env the
%% way `cuttlefish_generator:map/2' does:
%%   parse conf -> add schema defaults -> $(var) substitution ->
%%   datatypes -> validators -> 1:1 mappings -> translations.
%% A conf key that matches no mapping is an error, as in cuttlefish.
%% Supported datatypes: string, file, directory, atom, integer, float,
%% flag, {flag, On, Off}, {enum, L}, {duration, Unit}, bytesize,
%% {list, DT}, lists of datatypes and the extended forms {integer, I},
%% {string, S}, {atom, A}. Not supported: ip, fqdn, percent.
%%
%% Errors: {error, {Phase, [Error]}} with Phase one of conf_parse,
%% schema, add_defaults, rhs_subs, transform_datatypes, validation,
%% apply_translations (cuttlefish returns {error, Phase, {errorlist, _}}).
%%--------------------------------------------------------------------
-module(cuttlefish_double).

-export([map/2, map_string/2, map_terms/2,
         parse_conf_file/1, parse_conf/1, read_schema/1, parse_schema/1,
         from_string/2, parse_duration/2]).

-record(mapping, {variable, target, datatypes = [string], default,
                  validators = [], include_default, hidden = false}).

%%--------------------------------------------------------------------
%% API
%%--------------------------------------------------------------------

%% @doc Map ConfFile through SchemaFile:
%% {ok, [{App, [{Key, Val}]}]} | {error, {Phase, Errors}}.
map(SchemaFile, ConfFile) ->
    with_ok([fun() -> read_schema(SchemaFile) end,
             fun() -> parse_conf_file(ConfFile) end],
            fun([Schema, Conf]) -> map_terms(Schema, Conf) end).

%% @doc Like map/2 with the conf given as text.
map_string(SchemaFile, ConfText) ->
    with_ok([fun() -> read_schema(SchemaFile) end,
             fun() -> parse_conf(ConfText) end],
            fun([Schema, Conf]) -> map_terms(Schema, Conf) end).

with_ok(Steps, Then) ->
    Results = [Step() || Step <- Steps],
    case [E || {error, _} = E <- Results] of
        [E | _] -> E;
        [] -> Then([V || {ok, V} <- Results])
    end.

%% @doc Map a parsed conf ([{Tokens, String}]) with a parsed schema
%% ({Translations, Mappings, Validators} from read_schema/1).
map_terms({Translations, Mappings, Validators}, Conf) ->
    Steps = [{add_defaults, fun(C) -> add_defaults(C, Mappings) end},
             {rhs_subs, fun value_sub/1},
             {transform_datatypes, fun(C) -> transform_datatypes(C, Mappings) end},
             {validation, fun(C) -> validate(C, Mappings, Validators) end}],
    case run_steps(Steps, Conf) of
        {ok, TypedConf} -> apply_translations(Translations, Mappings, TypedConf);
        Error -> Error
    end.

run_steps([], Conf) -> {ok, Conf};
run_steps([{Phase, Fun} | More], Conf) ->
    case Fun(Conf) of
        {Conf1, []} -> run_steps(More, Conf1);
        {_, Errors} -> {error, {Phase, Errors}}
    end.

%%--------------------------------------------------------------------
%% .conf parsing (cuttlefish conf_parse syntax)
%%--------------------------------------------------------------------

%% @doc Parse a .conf file into [{Tokens, ValueString}] (later duplicates
%% replace earlier ones in place).
parse_conf_file(File) ->
    case file:read_file(File) of
        {ok, Bin} -> parse_conf(unicode:characters_to_list(Bin));
        {error, Reason} -> {error, {conf_parse, [{file_open, {File, Reason}}]}}
    end.

%% @doc Parse .conf text. Lines are `key = value', comments (`#' first
%% non-blank char), `{{ placeholder }}' lines or blank. The value is the
%% rest of the line minus trailing blanks (a `#' inside it is kept).
parse_conf(Text) ->
    Lines = string:split(Text, "\n", all),
    {Conf, Errors} = parse_lines(Lines, 1, [], []),
    case Errors of
        [] -> {ok, dedup(Conf)};
        _ -> {error, {conf_parse, Errors}}
    end.

parse_lines([], _N, Acc, Errs) ->
    {lists:reverse(Acc), lists:reverse(Errs)};
parse_lines([Line0 | More], N, Acc, Errs) ->
    Line = string:trim(Line0, trailing, "\r"),
    case parse_line(string:trim(Line, leading, " \t")) of
        skip -> parse_lines(More, N + 1, Acc, Errs);
        {ok, Setting} -> parse_lines(More, N + 1, [Setting | Acc], Errs);
        error -> parse_lines(More, N + 1, Acc, [{conf_syntax, {N, Line}} | Errs])
    end.

parse_line("") -> skip;
parse_line([$# | _]) -> skip;
parse_line("{{" ++ _ = Line) ->
    case lists:suffix("}}", string:trim(Line, trailing, " \t")) of
        true -> skip;
        false -> error
    end;
parse_line(Line) ->
    case parse_key(Line, "", []) of
        {ok, Key, Rest} ->
            case string:trim(Rest, leading, " \t") of
                [$= | Value0] ->
                    case string:trim(Value0, both, " \t") of
                        "" -> error;
                        Value ->
                            case lists:all(fun(C) -> C =< 255 end, Value) of
                                true -> {ok, {Key, Value}};
                                false -> error
                            end
                    end;
                _ -> error
            end;
        error -> error
    end.

%% key <- word ("." word)*; word <- ("\\." / [@/:] / [A-Za-z0-9_-])+
parse_key([$\\, $. | Rest], Word, Acc) ->
    parse_key(Rest, [$. | Word], Acc);
parse_key([$. | Rest], Word, Acc) when Word =/= "" ->
    parse_key(Rest, "", [lists:reverse(Word) | Acc]);
parse_key([C | Rest] = All, Word, Acc) ->
    case is_word_char(C) of
        true -> parse_key(Rest, [C | Word], Acc);
        false -> end_key(All, Word, Acc)
    end;
parse_key([], Word, Acc) ->
    end_key([], Word, Acc).

end_key(_Rest, "", _Acc) -> error;
end_key(Rest, Word, Acc) -> {ok, lists:reverse([lists:reverse(Word) | Acc]), Rest}.

is_word_char(C) when C >= $a, C =< $z; C >= $A, C =< $Z; C >= $0, C =< $9 -> true;
is_word_char(C) -> lists:member(C, "_-@/:").

dedup(Conf) ->
    lists:foldl(fun({K, V}, Acc) -> lists:keystore(K, 1, Acc, {K, V}) end, [], Conf).

%%--------------------------------------------------------------------
%% .schema reading (Erlang terms; translations are funs run by erl_eval)
%%--------------------------------------------------------------------

%% @doc Read a .schema file: {ok, {Translations, Mappings, Validators}}.
read_schema(File) ->
    case file:read_file(File) of
        {ok, Bin} -> parse_schema(unicode:characters_to_list(Bin));
        {error, Reason} -> {error, {schema, [{file_open, {File, Reason}}]}}
    end.

%% @doc Parse schema text (a sequence of Erlang terms ending with dots).
parse_schema(Text) ->
    case erl_scan:string(Text, 1) of
        {ok, Tokens, _} ->
            try
                Terms = [eval_form(F) || F <- split_forms(Tokens, [], []), F =/= []],
                build_schema(Terms, [], [], [])
            catch
                throw:{schema_error, E} -> {error, {schema, [E]}}
            end;
        {error, Info, Loc} ->
            {error, {schema, [{scan, Info, Loc}]}}
    end.

split_forms([], [], Acc) -> lists:reverse(Acc);
split_forms([], Cur, Acc) -> lists:reverse([lists:reverse(Cur) | Acc]);
split_forms([{dot, _} = Dot | More], Cur, Acc) ->
    split_forms(More, [], [lists:reverse([Dot | Cur]) | Acc]);
split_forms([T | More], Cur, Acc) ->
    split_forms(More, [T | Cur], Acc).

eval_form(Tokens) ->
    case erl_parse:parse_exprs(Tokens) of
        {ok, Exprs} ->
            {value, Term, _} = erl_eval:exprs(Exprs, erl_eval:new_bindings()),
            Term;
        {error, E} ->
            throw({schema_error, {parse, E}})
    end.

build_schema([], Ts, Ms, Vs) ->
    {ok, {lists:reverse(Ts), lists:reverse(Ms), lists:reverse(Vs)}};
build_schema([{mapping, Var, Target, Props} | More], Ts, Ms, Vs) ->
    M = parse_mapping(Var, Target, Props),
    %% a later mapping of the same variable replaces the earlier one
    Ms1 = [X || X <- Ms, X#mapping.variable =/= M#mapping.variable],
    build_schema(More, Ts, [M | Ms1], Vs);
build_schema([{translation, Target, Fun} | More], Ts, Ms, Vs) when is_function(Fun) ->
    Ts1 = lists:keydelete(Target, 1, Ts),
    build_schema(More, [{Target, Fun} | Ts1], Ms, Vs);
build_schema([{validator, Name, Desc, Fun} | More], Ts, Ms, Vs) when is_function(Fun, 1) ->
    build_schema(More, Ts, Ms, [{Name, Desc, Fun} | Vs]);
build_schema([Other | _], _Ts, _Ms, _Vs) ->
    throw({schema_error, {unknown_schema_element, Other}}).

parse_mapping(Var, Target, Props) when is_list(Var), is_list(Target), is_list(Props) ->
    DTs = case proplists:get_value(datatype, Props, string) of
              L when is_list(L) -> L;
              DT -> [DT]
          end,
    #mapping{variable = cuttlefish_variable:tokenize(Var),
             target = Target,
             datatypes = DTs,
             default = proplists:get_value(default, Props),
             validators = proplists:get_value(validators, Props, []),
             include_default = proplists:get_value(include_default, Props),
             hidden = proplists:get_bool(hidden, Props)};
parse_mapping(Var, Target, Props) ->
    throw({schema_error, {bad_mapping, {Var, Target, Props}}}).

is_fuzzy(#mapping{variable = Var}) ->
    lists:any(fun(T) -> hd(T) =:= $$ end, Var).

%%--------------------------------------------------------------------
%% Generator phases
%%--------------------------------------------------------------------

%% Defaults: a hard mapping not set in the conf gets its default; a
%% $name mapping gets it for every $name value seen in the conf under
%% the same prefix.
add_defaults(Conf, Mappings) ->
    Prefixes = fuzzy_prefixes(Conf, Mappings),
    Conf1 = lists:foldl(
              fun(#mapping{default = undefined}, Acc) -> Acc;
                 (M = #mapping{variable = Var, default = Default}, Acc) ->
                      case is_fuzzy(M) of
                          false ->
                              case lists:keymember(Var, 1, Conf) of
                                  true -> Acc;
                                  false -> [{Var, Default} | Acc]
                              end;
                          true ->
                              add_fuzzy_default(Prefixes, Acc, Default, Var)
                      end
              end, Conf, Mappings),
    {Conf1, []}.

fuzzy_prefixes(Conf, Mappings) ->
    lists:foldl(
      fun(M = #mapping{variable = VD}, Acc) ->
              case is_fuzzy(M) of
                  false -> Acc;
                  true ->
                      Vals = [V || {_, V} <- cuttlefish_variable:fuzzy_matches(VD, Conf)],
                      {Prefix, _, _} = cuttlefish_variable:split_on_match(VD),
                      orddict:append_list(Prefix, Vals, Acc)
              end
      end, orddict:new(), Mappings).

add_fuzzy_default(Prefixes, Conf, Default, VariableDef) ->
    case [Subs || {Prefix, Subs} <- Prefixes, is_strict_prefix(Prefix, VariableDef)] of
        [] -> Conf;
        [Subs | _] ->
            Conf ++ [{V, Default} || S <- lists:usort(Subs),
                                     V <- [cuttlefish_variable:replace_match(VariableDef, S)],
                                     not lists:keymember(V, 1, Conf)]
    end.

is_strict_prefix([H | T1], [H | T2]) -> is_strict_prefix(T1, T2);
is_strict_prefix([], [[$$ | _] | _]) -> true;
is_strict_prefix(_, _) -> false.

%% "$(a.b)" inside a value is replaced by the value of setting a.b.
value_sub(Conf) ->
    lists:foldr(fun({Var, Val}, {Acc, Errs}) ->
                        case sub_value(Var, Val, Conf, []) of
                            {ok, V} -> {[{Var, V} | Acc], Errs};
                            {error, E} -> {Acc, [E | Errs]}
                        end
                end, {[], []}, Conf).

sub_value(Var, Val, Conf, History) when is_list(Val) ->
    case lists:member(Var, History) of
        true -> {error, {circular_rhs, History}};
        false ->
            case string:split(Val, "$(") of
                [_NoSub] -> {ok, Val};
                [Front, Rest] ->
                    case string:split(Rest, ")") of
                        [_] -> {ok, Val};
                        [Name, Back] ->
                            Ref = cuttlefish_variable:tokenize(string:trim(Name)),
                            case lists:keyfind(Ref, 1, Conf) of
                                false ->
                                    {error, {substitution_missing_config,
                                             {cuttlefish_variable:format(Var),
                                              cuttlefish_variable:format(Ref)}}};
                                {Ref, RefVal} ->
                                    case sub_value(Ref, RefVal, Conf, [Var | History]) of
                                        {ok, Sub} ->
                                            sub_value(Var, Front ++ to_list(Sub) ++ Back,
                                                      Conf, History);
                                        Error -> Error
                                    end
                            end
                    end
            end
    end;
sub_value(_Var, Val, _Conf, _History) ->
    {ok, Val}.

to_list(V) when is_list(V) -> V;
to_list(V) -> lists:flatten(io_lib:format("~p", [V])).

%% Each setting must match exactly one mapping; its string value is
%% converted with the first datatype of the mapping that accepts it.
transform_datatypes(Conf, Mappings) ->
    lists:foldl(
      fun({Var, Value}, {Acc, Errs}) ->
              case find_mapping(Var, Mappings) of
                  {error, _} ->
                      {Acc, [{unknown_variable, cuttlefish_variable:format(Var)} | Errs]};
                  #mapping{datatypes = DTs} ->
                      case transform_type(DTs, Value, []) of
                          {ok, New} -> {[{Var, New} | Acc], Errs};
                          {errorlist, EL} ->
                              {Acc, [{transform_type, cuttlefish_variable:format(Var)}]
                                    ++ EL ++ Errs}
                      end
              end
      end, {[], []}, Conf).

find_mapping(Var, Mappings) ->
    Hard = [M || M = #mapping{variable = V} <- Mappings, V =:= Var],
    Fuzzy = [M || M = #mapping{variable = V} <- Mappings, V =/= Var,
                  cuttlefish_variable:is_fuzzy_match(Var, V)],
    case {Hard, Fuzzy} of
        {[M], _} -> M;
        {[], [M]} -> M;
        {[], []} -> {error, {mapping_not_found, cuttlefish_variable:format(Var)}};
        {H, F} -> {error, {mapping_multiple, {cuttlefish_variable:format(Var),
                                              {length(H), length(F)}}}}
    end.

transform_type([], _Value, Errs) ->
    {errorlist, lists:reverse(Errs)};
transform_type([DT | More], Value, Errs) ->
    case convert(DT, Value) of
        {ok, V} -> {ok, V};
        {error, E} -> transform_type(More, Value, [E | Errs])
    end.

convert({integer, I}, Value) -> extended(integer, I, Value);
convert({string, S}, Value) -> extended(string, S, Value);
convert({atom, A}, Value) -> extended(atom, A, Value);
convert(DT, Value) ->
    try from_string(Value, DT) of
        {error, _} = E -> E;
        V -> {ok, V}
    catch
        C:R -> {error, {transform_type_exception, {DT, {C, R}}}}
    end.

extended(DT, Acceptable, Value) ->
    case convert(DT, Value) of
        {ok, Acceptable} -> {ok, Acceptable};
        {ok, _} -> {error, {transform_type_unacceptable, {Value, Acceptable}}};
        E -> E
    end.

%% @doc Convert a conf string (or an already typed default) to DataType.
%% Returns the value or {error, Reason}.
from_string(V, string) when is_list(V) -> V;
from_string(V, file) when is_list(V) -> V;
from_string(V, directory) when is_list(V) -> V;
from_string(V, atom) when is_atom(V) -> V;
from_string(V, atom) when is_list(V) -> list_to_atom(V);
from_string(V, integer) when is_integer(V) -> V;
from_string(V, integer) when is_list(V) ->
    try list_to_integer(V) catch _:_ -> {error, {conversion, {V, integer}}} end;
from_string(V, float) when is_float(V) -> V;
from_string(V, float) when is_list(V) ->
    try list_to_float(V) catch _:_ -> {error, {conversion, {V, float}}} end;
from_string(V, flag) -> parse_enum(V, [{on, true}, {off, false}]);
from_string(V, {flag, {On, OnV}, {Off, OffV}}) -> parse_enum(V, [{On, OnV}, {Off, OffV}]);
from_string(V, {flag, On, Off}) -> parse_enum(V, [{On, true}, {Off, false}]);
from_string(V, {enum, Enum}) -> parse_enum(V, Enum);
from_string(V, {duration, _}) when is_integer(V) -> V;
from_string(V, {duration, Unit}) when is_list(V) -> parse_duration(V, Unit);
from_string(V, bytesize) when is_integer(V) -> V;
from_string(V, bytesize) when is_list(V) -> parse_bytesize(V);
from_string(V, {list, DT}) when is_list(V) ->
    Items = [from_string(string:trim(E), DT) || E <- string:split(V, ",", all)],
    case [E || {error, _} = E <- Items] of
        [] -> Items;
        [E | _] -> E
    end;
from_string(V, DT) ->
    {error, {type, {V, DT}}}.

%% Enum entries: atom A (name "A", value A), string S, or {Name, Value}.
parse_enum(Value, Enum) ->
    Pairs = [enum_pair(E) || E <- Enum],
    Name = case Value of
               A when is_atom(A) -> atom_to_list(A);
               Other -> Other
           end,
    case lists:keyfind(Name, 1, Pairs) of
        {_, V} -> V;
        false ->
            case lists:keyfind(Value, 2, Pairs) of
                {_, V} -> V;
                false -> {error, {enum_name, {Name, [K || {K, _} <- Pairs]}}}
            end
    end.

enum_pair({K, V}) when is_atom(K) -> {atom_to_list(K), V};
enum_pair({K, V}) when is_list(K) -> {K, V};
enum_pair(A) when is_atom(A) -> {atom_to_list(A), A};
enum_pair(S) when is_list(S) -> {S, S}.

-define(MULTIPLIERS, [{"f", 1209600000}, {"w", 604800000}, {"d", 86400000},
                      {"h", 3600000}, {"ms", 1}, {"m", 60000}, {"s", 1000}]).

%% @doc Parse a duration such as "5s", "500ms", "1m30s", "1.5h" (a unit
%% is required) and return it in Unit (f|w|d|h|m|s|ms), rounded up;
%% {error, {duration, String}} when malformed.
parse_duration(String, Unit) ->
    case duration_ms(string:to_lower(String), 0, false) of
        {ok, Ms} ->
            {_, Mult} = lists:keyfind(atom_to_list(Unit), 1, ?MULTIPLIERS),
            ceiling(Ms / Mult);
        error -> {error, {duration, String}}
    end.

duration_ms([], Acc, true) -> {ok, Acc};
duration_ms([], _Acc, false) -> error;
duration_ms(S, Acc, _Seen) ->
    case number_prefix(S) of
        {ok, Num, Rest} ->
            case unit_prefix(Rest) of
                {ok, Mult, Rest1} -> duration_ms(Rest1, Acc + Num * Mult, true);
                error -> error
            end;
        error -> error
    end.

number_prefix(S) ->
    {Int, Rest} = lists:splitwith(fun is_digit/1, S),
    case Rest of
        [$. | Frac0] ->
            {Frac, Rest1} = lists:splitwith(fun is_digit/1, Frac0),
            case Frac of
                [] -> error;
                _ -> {ok, list_to_float(digits(Int) ++ "." ++ Frac), Rest1}
            end;
        _ when Int =/= [] -> {ok, list_to_integer(Int), Rest};
        _ -> error
    end.

digits([]) -> "0";
digits(D) -> D.

unit_prefix(S) ->
    case [{Mult, lists:nthtail(length(U), S)} || {U, Mult} <- ?MULTIPLIERS,
                                                 lists:prefix(U, S)] of
        [{Mult, Rest} | _] -> {ok, Mult, Rest};
        [] -> error
    end.

is_digit(C) -> C >= $0 andalso C =< $9.

ceiling(X) when is_integer(X) -> X;
ceiling(X) ->
    T = trunc(X),
    case X - T > 0 of
        true -> T + 1;
        false -> T
    end.

parse_bytesize(String) ->
    {Num, Unit} = lists:splitwith(fun is_digit/1, String),
    Mult = case string:to_upper(Unit) of
               "" -> 1; "B" -> 1;
               "KB" -> 1024; "MB" -> 1024 * 1024; "GB" -> 1024 * 1024 * 1024;
               _ -> error
           end,
    case {Num, Mult} of
        {[], _} -> {error, {conversion, {String, bytesize}}};
        {_, error} -> {error, {conversion, {String, bytesize}}};
        _ -> list_to_integer(Num) * Mult
    end.

%% Validators named by a mapping run on its (hard) setting's value.
validate(Conf, Mappings, Validators) ->
    Errors = [{validation, {cuttlefish_variable:format(Var), Desc}}
              || #mapping{variable = Var, validators = Names} <- Mappings,
                 Names =/= [],
                 Value <- [proplists:get_value(Var, Conf)],
                 Value =/= undefined,
                 {Name, Desc, Fun} <- Validators,
                 lists:member(Name, Names),
                 Fun(Value) =/= true],
    {Conf, Errors}.

%% 1:1 mappings for targets without a translation, then translations.
%% A translation runs when one of its mappings is set or has a default.
apply_translations(Translations, Mappings, Conf) ->
    {Direct, {MaybeDrop, Keep}} =
        lists:foldr(
          fun(#mapping{variable = Var, target = Target, default = Default}, {Acc, {Drop, Kp}}) ->
                  Defined = Default =/= undefined orelse is_defined(Var, Conf),
                  HasXlat = lists:keymember(Target, 1, Translations),
                  case {Defined, HasXlat} of
                      {true, false} ->
                          Value = proplists:get_value(Var, Conf),
                          {set_value(cuttlefish_variable:tokenize(Target), Acc, Value),
                           {Drop, ordsets:add_element(Target, Kp)}};
                      {true, true} ->
                          {Acc, {Drop, ordsets:add_element(Target, Kp)}};
                      _ ->
                          {Acc, {ordsets:add_element(Target, Drop), Kp}}
                  end
          end, {[], {[], []}}, Mappings),
    ToDrop = MaybeDrop -- Keep,
    {Env, Errors} =
        lists:foldl(
          fun({Target, Fun}, {Acc, Errs}) ->
                  case lists:member(Target, ToDrop) of
                      true -> {Acc, Errs};
                      false ->
                          case run_translation(Target, Fun, Conf, Translations, Mappings) of
                              unset -> {Acc, Errs};
                              {set, V} ->
                                  {set_value(cuttlefish_variable:tokenize(Target), Acc, V), Errs};
                              {error, E} -> {Acc, [E | Errs]}
                          end
                  end
          end, {Direct, []}, Translations),
    case Errors of
        [] -> {ok, Env};
        _ -> {error, {apply_translations, lists:reverse(Errors)}}
    end.

is_defined(VarDef, Conf) ->
    lists:any(fun({V, _}) -> cuttlefish_variable:is_fuzzy_match(V, VarDef) end, Conf).

run_translation(Target, Fun, Conf, Translations, Mappings) ->
    Args = case erlang:fun_info(Fun, arity) of
               {arity, 1} -> [Conf];
               {arity, 2} -> [Conf, {Translations, Mappings, []}];
               {arity, N} -> {bad_arity, N}
           end,
    case Args of
        {bad_arity, A} -> {error, {translation_arity, {Target, A}}};
        _ ->
            try apply(Fun, Args) of
                {ok, V} -> {set, V};
                V -> {set, V}
            catch
                throw:{not_found, NotFound} ->
                    {error, {translation_missing_setting,
                             {Target, cuttlefish_variable:format(NotFound)}}};
                throw:unset -> unset;
                throw:{invalid, Invalid} ->
                    {error, {translation_invalid_configuration, {Target, Invalid}}};
                C:R ->
                    {error, {translation_unknown_error, {Target, {C, R}}}}
            end
    end.

set_value([Last], PList, Value) ->
    lists:keystore(list_to_atom(Last), 1, PList, {list_to_atom(Last), Value});
set_value([Head | More], PList, Value) ->
    Key = list_to_atom(Head),
    Old = proplists:get_value(Key, PList, []),
    lists:keystore(Key, 1, PList, {Key, set_value(More, Old, Value)}).
