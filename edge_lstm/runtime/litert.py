"""The LiteRT step model: the one place that touches the interpreter.

Tensors are bound by signature name, never by position: the converter reorders inputs (seen: c, x, h)
and names outputs only ``output_0..n`` in the order of the Keras model's outputs (reconstruction first,
then the state tensors in the order the manifest lists them).

One interpreter belongs to one thread. The set_tensor / invoke / get_tensor path is used rather than
the signature runner because it is about twice as fast per step.

Batch sizes: a daemon steps every stream with a pending sample in one invoke, so the batch size takes
any value from 1 to the number of streams. Interpreters exist only for powers of two, and a batch is
padded with zero rows (zero input, zero state: an idle stream) up to the next one, then sliced back:
at most log2(largest batch) + 1 interpreters, each allocated once. Rows of a batch are independent
(the step-model contract), so the padding changes no real row's result.
"""

from __future__ import annotations

import gc
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from edge_lstm.core.stepmodel import State, padded_batch
from edge_lstm.errors import ModelFileError
from edge_lstm.runtime.quiet import native_output_captured

FloatArray = npt.NDArray[np.float32]


class LiteRTStepModel:
    """A ``.tflite`` step model run through LiteRT: tensors bound by name, one interpreter per power-of-two
    batch size (batches are padded up to it), inputs and outputs in float32 whatever the quantization."""

    def __init__(
        self,
        path: str | Path,
        *,
        n_features: int,
        window: int,
        state_names: list[str],
        state_sizes: list[int],
        num_threads: int = 1,
    ) -> None:
        self.path = Path(path)
        self._num_threads = num_threads
        self.n_features = n_features
        self.window = window
        self.state_sizes = tuple(state_sizes)
        self._state_names = list(state_names)
        try:
            self._content = self.path.read_bytes()
            with native_output_captured():
                self._interpreter = self._new_interpreter()
            runner = self._interpreter.get_signature_runner()
            inputs = {name: d["index"] for name, d in runner.get_input_details().items()}
            outputs = {name: d["index"] for name, d in runner.get_output_details().items()}
        except (ValueError, RuntimeError, OSError) as error:
            raise ModelFileError(f"{self.path.name}: not a loadable LiteRT step model ({error})") from error
        # The runner holds references into the interpreter; drop it before (re)allocating tensors.
        del runner
        gc.collect()
        expected_inputs = {"x", *self._state_names}
        if set(inputs) != expected_inputs:
            raise ModelFileError(
                f"{self.path.name}: model inputs are {sorted(inputs)}, expected {sorted(expected_inputs)}"
            )
        expected_outputs = [f"output_{i}" for i in range(1 + len(self._state_names))]
        if sorted(outputs) != expected_outputs:
            raise ModelFileError(f"{self.path.name}: model outputs are {sorted(outputs)}, expected {expected_outputs}")
        self._x_index = inputs["x"]
        self._state_in = [inputs[name] for name in self._state_names]
        self._recon_out = outputs["output_0"]
        self._state_out = [outputs[f"output_{i + 1}"] for i in range(len(self._state_names))]
        # One interpreter per power-of-two batch size: re-allocating tensors on every change of batch size
        # (streams come and go in a daemon) would cost more than the invoke itself, and one per size
        # ever seen would grow with the number of streams.
        self._by_batch: dict[int, Any] = {}
        with native_output_captured():  # the first allocation announces the XNNPACK delegate
            self._use_batch(1, self._interpreter)
        self._check_shapes()

    def _new_interpreter(self) -> Any:
        from ai_edge_litert.interpreter import Interpreter

        return Interpreter(model_content=self._content, num_threads=self._num_threads)

    def _use_batch(self, batch: int, interp: Any = None) -> None:
        if batch not in self._by_batch:
            interp = interp or self._new_interpreter()
            interp.resize_tensor_input(self._x_index, [batch, self.n_features])
            for index, size in zip(self._state_in, self.state_sizes, strict=True):
                interp.resize_tensor_input(index, [batch, size])
            interp.allocate_tensors()
            self._by_batch[batch] = interp
        self._interpreter = self._by_batch[batch]
        self._batch = batch

    def _check_shapes(self) -> None:
        recon = self._interpreter.get_output_details()
        by_index = {d["index"]: tuple(int(v) for v in d["shape"]) for d in recon}
        want = (1, self.window * self.n_features)
        if by_index.get(self._recon_out) != want:
            raise ModelFileError(
                f"{self.path.name}: reconstruction output has shape {by_index.get(self._recon_out)}, "
                f"expected {want} (window {self.window} x {self.n_features} features)"
            )
        for index, size in zip(self._state_out, self.state_sizes, strict=True):
            if by_index.get(index) != (1, size):
                raise ModelFileError(
                    f"{self.path.name}: a state output has shape {by_index.get(index)}, expected (1, {size})"
                )

    @property
    def interpreter(self) -> Any:
        """The interpreter of the current batch size (benchmarks time its ``invoke()`` alone)."""
        return self._interpreter

    @property
    def batch_sizes(self) -> tuple[int, ...]:
        """The batch sizes that have an interpreter (powers of two), smallest first."""
        return tuple(sorted(self._by_batch))

    def step(self, x: FloatArray, state: State) -> tuple[FloatArray, State]:
        """Advance each row of ``x`` by one sample (see ``StepModel.step``)."""
        batch = x.shape[0]
        if batch != self._batch:  # the same batch size as the last call needs no choosing, nor padding
            size = padded_batch(batch)
            if size != self._batch:
                self._use_batch(size)
            if size != batch:
                x, state = self._pad(x, state, size)
                recon, new_state = self._run(x, state)
                # get_tensor copies, so these slices own their data (the padding rows are dropped here).
                return recon[:batch], tuple(s[:batch] for s in new_state)
        return self._run(x, state)

    def _run(self, x: FloatArray, state: State) -> tuple[FloatArray, State]:
        """Set the inputs, invoke, get the outputs, at the current batch size."""
        interp = self._interpreter
        interp.set_tensor(self._x_index, np.ascontiguousarray(x, dtype=np.float32))
        for index, value in zip(self._state_in, state, strict=True):
            interp.set_tensor(index, value)
        interp.invoke()
        recon = interp.get_tensor(self._recon_out).reshape(self._batch, self.window, self.n_features)
        return recon, tuple([interp.get_tensor(index) for index in self._state_out])

    def _pad(self, x: FloatArray, state: State, size: int) -> tuple[FloatArray, State]:
        """``x`` and ``state`` with zero rows appended up to ``size`` rows."""
        batch = x.shape[0]
        padded_x = np.zeros((size, self.n_features), dtype=np.float32)
        padded_x[:batch] = x
        padded_state = []
        for value, width in zip(state, self.state_sizes, strict=True):
            rows = np.zeros((size, width), dtype=np.float32)
            rows[:batch] = value
            padded_state.append(rows)
        return padded_x, tuple(padded_state)
