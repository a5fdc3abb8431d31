%%--------------------------------------------------------------------
%% TEST DOUBLE of the cuttlefish module `cuttlefish_variable' (as bundled
%% with EMQX 4.2.14), used only by tests. A variable is a setting name as
%% a list of tokens: "a.b\.c.d" <-> ["a", "b.c", "d"].
%%--------------------------------------------------------------------
-module(cuttlefish_variable).

-export([tokenize/1, format/1, filter_by_prefix/2, is_fuzzy_match/2,
         fuzzy_matches/2, extract_first_match/2, split_on_match/1,
         replace_match/2]).

%% @doc Split "a.b.c" on dots ("\." escapes a dot) into ["a","b","c"].
tokenize(Key) ->
    tokenize(Key, "", []).

tokenize([$\\, $. | Rest], Part, Acc) -> tokenize(Rest, [$. | Part], Acc);
tokenize([$. | Rest], Part, Acc) -> tokenize(Rest, "", [lists:reverse(Part) | Acc]);
tokenize([], "", Acc) -> lists:reverse(Acc);
tokenize([], Part, Acc) -> lists:reverse([lists:reverse(Part) | Acc]);
tokenize([C | Rest], Part, Acc) -> tokenize(Rest, [C | Part], Acc).

%% @doc Inverse of tokenize/1 (dots inside tokens are escaped).
format([H | _] = Tokens) when is_list(H) ->
    string:join([escape(T) || T <- Tokens], ".");
format(String) ->
    String.

escape(Token) ->
    lists:flatmap(fun($.) -> "\\."; (C) -> [C] end, Token).

%% @doc Entries of a conf proplist whose variable starts with Prefix
%% (tokens or a dotted string).
filter_by_prefix([H | _] = Prefix, Conf) when is_list(H) ->
    [E || {Var, _} = E <- Conf, lists:prefix(Prefix, Var)];
filter_by_prefix(Prefix, Conf) ->
    filter_by_prefix(tokenize(Prefix), Conf).

%% @doc Could Variable be an instance of VariableDef (same length; "$x"
%% tokens of the definition match any token)?
is_fuzzy_match(Variable, VariableDef) when length(Variable) =:= length(VariableDef) ->
    lists:all(fun({X, Y}) -> X =:= Y orelse hd(Y) =:= $$ end,
              lists:zip(Variable, VariableDef));
is_fuzzy_match(_, _) ->
    false.

%% @doc For each conf variable matching VariableDef, the binding of its
%% first "$x" token: [{"$x", Value}].
fuzzy_matches(VariableDef, Conf) ->
    lists:foldl(fun({Var, _}, Acc) ->
                        case extract_first_match(VariableDef, Var) of
                            [Match | _] -> [Match | Acc];
                            _ -> Acc
                        end
                end, [], Conf).

%% @doc Bindings of every "$x" token of VariableDef in Variable, or nomatch.
extract_first_match(VariableDef, Variable) when length(VariableDef) =:= length(Variable) ->
    extract(VariableDef, Variable, []);
extract_first_match(_, _) ->
    nomatch.

extract([], [], Acc) -> lists:reverse(Acc);
extract([[$$ | _] = D | Ds], [V | Vs], Acc) -> extract(Ds, Vs, [{D, V} | Acc]);
extract([X | Ds], [X | Vs], Acc) -> extract(Ds, Vs, Acc);
extract(_, _, _) -> nomatch.

%% @doc Split a definition at its first "$x" token: {Prefix, "$x", Suffix}.
split_on_match(Variable) ->
    {Prefix, Rest} = lists:splitwith(fun(T) -> hd(T) =/= $$ end, Variable),
    case Rest of
        [] -> {Prefix, [], []};
        [Match | Suffix] -> {Prefix, Match, Suffix}
    end.

%% @doc Replace the "$x" tokens of Variable by Sub (undefined: drop $).
replace_match(Variable, Sub) ->
    [case {Tok, Sub} of
         {[$$ | T], undefined} -> T;
         {[$$ | _], _} -> Sub;
         _ -> Tok
     end || Tok <- Variable].
