%%--------------------------------------------------------------------
%% TEST DOUBLE of the EMQX 4.2.14 module `emqx_topic', used only by
%% tests. Topic matching and validation as in section 2.4 of the hook
%% contract: `+' matches one level, `#' the remaining levels including the
%% parent, empty levels are real levels, and a topic name starting with
%% `$' is never matched by a filter whose first level is `+' or `#'.
%%--------------------------------------------------------------------
-module(emqx_topic).

-export([match/2, words/1, validate/1, validate/2, wildcard/1, levels/1,
         join/1, parse/1]).

-define(MAX_TOPIC_LEN, 4096).

%% @doc Does topic name Name match topic filter Filter? (binaries or words)
match(<<$$, _/binary>>, <<$+, _/binary>>) -> false;
match(<<$$, _/binary>>, <<$#, _/binary>>) -> false;
match(Name, Filter) when is_binary(Name), is_binary(Filter) ->
    match_words(words(Name), words(Filter));
match(Name, Filter) when is_list(Name), is_list(Filter) ->
    match_words(Name, Filter).

match_words([], []) -> true;
match_words([H | T1], [H | T2]) -> match_words(T1, T2);
match_words([_H | T1], ['+' | T2]) -> match_words(T1, T2);
match_words(_, ['#']) -> true;
match_words(_, _) -> false.

%% @doc Split a topic into words: '' for empty levels, '+' and '#' atoms
%% for wildcards, binaries otherwise.
words(Topic) when is_binary(Topic) ->
    [word(W) || W <- binary:split(Topic, <<"/">>, [global])].

word(<<>>) -> '';
word(<<"+">>) -> '+';
word(<<"#">>) -> '#';
word(Bin) -> Bin.

%% @doc Validate {name, Topic} or {filter, Topic}. Returns true, or raises
%% error(empty_topic | topic_too_long | 'topic_invalid_#' |
%% topic_invalid_char | topic_name_error).
validate({Type, Topic}) ->
    validate(Type, Topic).

%% @doc validate(Type, Topic): see validate/1.
validate(_Type, <<>>) ->
    error(empty_topic);
validate(_Type, Topic) when is_binary(Topic), byte_size(Topic) > ?MAX_TOPIC_LEN ->
    error(topic_too_long);
validate(filter, Topic) when is_binary(Topic) ->
    validate_words(words(Topic));
validate(name, Topic) when is_binary(Topic) ->
    Words = words(Topic),
    (validate_words(Words) andalso not wildcard(Words)) orelse error(topic_name_error).

validate_words([]) -> true;
validate_words(['#']) -> true;
validate_words(['#' | _More]) -> error('topic_invalid_#');
validate_words(['' | More]) -> validate_words(More);
validate_words(['+' | More]) -> validate_words(More);
validate_words([W | More]) -> validate_chars(W) andalso validate_words(More).

validate_chars(<<>>) -> true;
validate_chars(<<C/utf8, _/binary>>) when C =:= $#; C =:= $+; C =:= 0 ->
    error(topic_invalid_char);
validate_chars(<<_/utf8, Rest/binary>>) -> validate_chars(Rest);
validate_chars(_) -> error(topic_invalid_char).

%% @doc Is the topic (binary or words) a wildcard filter?
wildcard(Topic) when is_binary(Topic) -> wildcard(words(Topic));
wildcard([]) -> false;
wildcard(['#' | _]) -> true;
wildcard(['+' | _]) -> true;
wildcard([_ | T]) -> wildcard(T).

%% @doc Number of levels of a topic.
levels(Topic) when is_binary(Topic) ->
    length(words(Topic)).

%% @doc Join words back into a topic binary.
join(Words) ->
    iolist_to_binary(lists:join(<<"/">>, [bin(W) || W <- Words])).

bin('') -> <<>>;
bin(A) when is_atom(A) -> atom_to_binary(A, utf8);
bin(B) when is_binary(B) -> B.

%% @doc Parse a subscription filter: strips `$share/Group/' and `$queue/'
%% and returns {Filter, Opts} with `share' set as EMQX 4.2.14 does.
parse(<<"$queue/", Topic/binary>>) ->
    {Topic, #{share => <<"$queue">>}};
parse(<<"$share/", Rest/binary>> = Topic) ->
    case binary:split(Rest, <<"/">>) of
        [Group, Filter] when Group =/= <<>>, Filter =/= <<>> ->
            {Filter, #{share => Group}};
        _ -> error({invalid_topic_filter, Topic})
    end;
parse(Topic) when is_binary(Topic) ->
    {Topic, #{}}.
