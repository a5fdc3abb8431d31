%% @doc Per-hook latency: how long a hook callback held the client's process (the whole
%% callback: the call into the library, the wait for a pool worker's answer, the failure
%% policy), kept cheaply on the hot path.
%%
%% Sampled: each process times the first call of each hook and then one call in
%% `latency_sample' (16 by default; a counter in the process dictionary; the handler
%% inlines `start/1'), so a hook that runs once per connection (connect, authenticate)
%% is timed every time and a hot one (publish) one call in 16; `latency_sample = 0'
%% turns it off (the callbacks then carry no histogram). A sample goes into a histogram of `counters' (write_concurrency: no shared cache
%% line between schedulers) with 4 buckets per power of two, from 1 us up; the maximum is
%% an `atomics' cell. Percentiles are the upper bound of their bucket (at most 19% above
%% the true value). A new histogram is made at every start of the library.
-module(emqx_rust_hook_latency).

-include("emqx_rust_hook.hrl").

-export([new/1, new/2, start/1, stop/2, summary/1, bucket/1, upper_us/1]).
-export_type([lat/0]).

%% Buckets per power of two, and the number of buckets: 1 us .. 2^34 us (about 4.8 h).
-define(SUB, 4).
-define(OCTAVES, 35).
-define(BUCKETS, (?SUB * ?OCTAVES + 1)).

-type lat() :: #lat{}.

%% @doc A histogram for one hook, timing one call in 16.
-spec new(atom()) -> lat().
new(Hook) -> new(Hook, ?DEFAULT_LATENCY_SAMPLE).

%% @doc A histogram for one hook, timing one call in `Every' (per process).
-spec new(atom(), pos_integer()) -> lat().
new(Hook, Every) when is_integer(Every), Every >= 1 ->
    #lat{key = list_to_atom("emqx_rust_hook.sample." ++ atom_to_list(Hook)), every = Every,
         hist = counters:new(?BUCKETS, [write_concurrency]),
         max = atomics:new(1, [{signed, false}])}.

%% @doc Called before the hook runs: a start time when this call is sampled, else
%% `undefined'.
-spec start(lat() | undefined) -> integer() | undefined.
start(#lat{key = Key, every = Every}) ->
    case get(Key) of
        N when is_integer(N), N < Every - 1 ->
            put(Key, N + 1),
            undefined;
        _ ->
            put(Key, 0),
            erlang:monotonic_time()
    end;
start(undefined) ->
    undefined.

%% @doc Called after the hook ran with what `start/1' gave.
-spec stop(lat() | undefined, integer() | undefined) -> ok.
stop(_, undefined) -> ok;
stop(#lat{hist = Hist, max = Max}, T0) ->
    Us = erlang:convert_time_unit(erlang:monotonic_time() - T0, native, microsecond),
    counters:add(Hist, bucket(Us) + 1, 1),
    raise_max(Max, Us, atomics:get(Max, 1)).

raise_max(Max, Us, Old) when Us > Old ->
    case atomics:compare_exchange(Max, 1, Old, Us) of
        ok -> ok;
        Now -> raise_max(Max, Us, Now)
    end;
raise_max(_, _, _) -> ok.

%% @doc Samples, p50, p99 and max (us) of a histogram.
-spec summary(lat() | undefined) ->
          #{samples := non_neg_integer(), p50 := non_neg_integer(), p99 := non_neg_integer(),
            max := non_neg_integer()}.
summary(undefined) ->
    #{samples => 0, p50 => 0, p99 => 0, max => 0};
summary(#lat{hist = Hist, max = Max}) ->
    Counts = [counters:get(Hist, I) || I <- lists:seq(1, ?BUCKETS)],
    Total = lists:sum(Counts),
    MaxUs = atomics:get(Max, 1),
    #{samples => Total,
      p50 => min(MaxUs, percentile(Counts, Total, 50)),
      p99 => min(MaxUs, percentile(Counts, Total, 99)),
      max => MaxUs}.

percentile(_Counts, 0, _P) -> 0;
percentile(Counts, Total, P) ->
    Rank = (Total * P + 99) div 100,      % the smallest sample count covering P%
    walk(Counts, 0, 0, max(Rank, 1)).

walk([C | More], I, Seen, Rank) ->
    case Seen + C >= Rank of
        true -> upper_us(I);
        false -> walk(More, I + 1, Seen + C, Rank)
    end;
walk([], I, _, _) -> upper_us(I - 1).

%% @doc The bucket (0-based) of a duration in microseconds: bucket 0 holds 0 us, then
%% 4 buckets per power of two.
-spec bucket(non_neg_integer()) -> non_neg_integer().
bucket(Us) when Us < 1 -> 0;
bucket(Us) ->
    Log = log2(Us),                      % 2^Log =< Us < 2^(Log+1)
    Sub = case Log >= 2 of
              true -> (Us bsr (Log - 2)) band 3;
              false -> (Us bsl (2 - Log)) band 3
          end,
    min(?BUCKETS - 1, 1 + Log * ?SUB + Sub).

%% @doc The largest duration (us) of a bucket.
-spec upper_us(non_neg_integer()) -> non_neg_integer().
upper_us(0) -> 0;
upper_us(B) ->
    Log = (B - 1) div ?SUB,
    Sub = (B - 1) rem ?SUB,
    %% bucket = [2^Log * (4 + Sub) / 4, 2^Log * (5 + Sub) / 4)
    max(1, ((1 bsl Log) * (5 + Sub) + 3) div 4 - 1).

log2(N) -> log2(N, 0).
log2(N, Acc) when N >= 65536 -> log2(N bsr 16, Acc + 16);
log2(N, Acc) when N >= 256 -> log2(N bsr 8, Acc + 8);
log2(N, Acc) when N >= 16 -> log2(N bsr 4, Acc + 4);
log2(N, Acc) when N >= 2 -> log2(N bsr 1, Acc + 1);
log2(_, Acc) -> Acc.
