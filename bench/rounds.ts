/**
 * The interleaved rounds every server comparison runs: in each round every contender runs once,
 * and each round starts with the next one, so none always runs first (or last) on a busy machine.
 */

/**
 * Runs `run` for each contender `rounds` times, interleaved, printing `<bench>, round r/R: <name>`
 * before each run; the outcomes by contender's name, in round order.
 */
export async function interleavedRounds<C, O>(
  bench: string,
  contenders: readonly C[],
  rounds: number,
  name: (contender: C) => string,
  run: (contender: C) => Promise<O>,
): Promise<Map<string, O[]>> {
  const outcomes = new Map<string, O[]>(contenders.map((c) => [name(c), []]));
  for (let round = 0; round < rounds; round++) {
    for (let j = 0; j < contenders.length; j++) {
      const contender = contenders[(round + j) % contenders.length]!;
      process.stderr.write(`${bench}, round ${round + 1}/${rounds}: ${name(contender)}\n`);
      outcomes.get(name(contender))!.push(await run(contender));
    }
  }
  return outcomes;
}
