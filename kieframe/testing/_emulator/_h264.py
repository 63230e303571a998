"""A minimal H.264 (AVC) encoder for the emulator's result videos: real, decodable frames.

Baseline profile, CAVLC. The first picture is an IDR frame whose macroblocks are all ``I_PCM``
(raw samples: no transform, no prediction, so no entropy coding of residuals is needed); every
later picture is a P frame whose macroblocks are all ``P_L0_16x16`` with one motion vector and no
residual, so each shows the previous picture shifted: a slow pan. Deblocking is off. The NAL units
are returned without start codes, for an MP4 ``avcC`` track.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["Picture", "encode"]

_PROFILE_BASELINE = 66
_CONSTRAINTS = 0xC0  # constraint_set0 and constraint_set1: decodable by any Baseline decoder
_LEVEL = 30
_LOG2_MAX_FRAME_NUM = 8
_I_PCM_IN_I_SLICE = 25
_SLICE_P, _SLICE_I = 5, 7  # "all slices of the picture have this type"


@dataclass(frozen=True, slots=True)
class Picture:
    """A 4:2:0 picture, ``width`` x ``height`` (each a multiple of 16): Y, Cb and Cr planes."""

    width: int
    height: int
    y: bytes
    cb: bytes
    cr: bytes

    def __post_init__(self) -> None:
        if self.width % 16 or self.height % 16 or not self.width or not self.height:
            raise ValueError("a picture's sides must be positive multiples of 16")
        if len(self.y) != self.width * self.height or len(self.cb) != len(self.y) // 4:
            raise ValueError("the planes do not match the picture's size")
        if len(self.cr) != len(self.cb):
            raise ValueError("the chroma planes differ in size")


class _Bits:
    """An RBSP written bit by bit (Exp-Golomb codes included), or byte by byte when aligned."""

    def __init__(self) -> None:
        self.data = bytearray()
        self._value = 0
        self._count = 0

    def u(self, value: int, width: int) -> None:
        self._value = (self._value << width) | value
        self._count += width
        while self._count >= 8:
            self._count -= 8
            self.data.append((self._value >> self._count) & 0xFF)
        self._value &= (1 << self._count) - 1

    def ue(self, value: int) -> None:
        code = value + 1
        self.u(code, 2 * code.bit_length() - 1)  # leading zeros, then the code itself

    def se(self, value: int) -> None:
        self.ue(2 * value - 1 if value > 0 else -2 * value)

    def align(self) -> None:
        if self._count:
            self.u(0, 8 - self._count)

    def raw(self, data: bytes) -> None:
        self.data += data  # only when aligned

    def trailing(self) -> bytes:
        self.u(1, 1)  # rbsp_stop_one_bit
        self.align()
        return bytes(self.data)


def _nal(kind: int, ref_idc: int, rbsp: bytes) -> bytes:
    """A NAL unit: its header, then the RBSP with emulation prevention bytes inserted."""
    out = bytearray([(ref_idc << 5) | kind])
    zeros = 0
    for byte in rbsp:
        if zeros >= 2 and byte <= 3:
            out.append(3)
            zeros = 0
        out.append(byte)
        zeros = zeros + 1 if byte == 0 else 0
    return bytes(out)


def sequence_parameter_set(width: int, height: int, *, crop_bottom: int) -> bytes:
    """The SPS NAL unit: Baseline, one reference frame, frames only, bottom rows cropped."""
    bits = _Bits()
    bits.u(_PROFILE_BASELINE, 8)
    bits.u(_CONSTRAINTS, 8)
    bits.u(_LEVEL, 8)
    bits.ue(0)  # seq_parameter_set_id
    bits.ue(_LOG2_MAX_FRAME_NUM - 4)
    bits.ue(2)  # pic_order_cnt_type 2: output order is decoding order
    bits.ue(1)  # max_num_ref_frames
    bits.u(0, 1)  # gaps_in_frame_num_value_allowed_flag
    bits.ue(width // 16 - 1)
    bits.ue(height // 16 - 1)
    bits.u(1, 1)  # frame_mbs_only_flag
    bits.u(1, 1)  # direct_8x8_inference_flag
    bits.u(1 if crop_bottom else 0, 1)  # frame_cropping_flag
    if crop_bottom:
        for offset in (0, 0, 0, crop_bottom // 2):  # left, right, top, bottom in 2-row units
            bits.ue(offset)
    bits.u(0, 1)  # vui_parameters_present_flag
    return _nal(7, 3, bits.trailing())


def picture_parameter_set() -> bytes:
    """The PPS NAL unit: CAVLC, one reference index, deblocking control present."""
    bits = _Bits()
    bits.ue(0)  # pic_parameter_set_id
    bits.ue(0)  # seq_parameter_set_id
    bits.u(0, 1)  # entropy_coding_mode_flag: CAVLC
    bits.u(0, 1)  # bottom_field_pic_order_in_frame_present_flag
    bits.ue(0)  # num_slice_groups_minus1
    bits.ue(0)  # num_ref_idx_l0_default_active_minus1
    bits.ue(0)  # num_ref_idx_l1_default_active_minus1
    bits.u(0, 1)  # weighted_pred_flag
    bits.u(0, 2)  # weighted_bipred_idc
    bits.se(0)  # pic_init_qp_minus26
    bits.se(0)  # pic_init_qs_minus26
    bits.se(0)  # chroma_qp_index_offset
    bits.u(1, 1)  # deblocking_filter_control_present_flag
    bits.u(0, 1)  # constrained_intra_pred_flag
    bits.u(0, 1)  # redundant_pic_cnt_present_flag
    return _nal(8, 3, bits.trailing())


def _slice_header(bits: _Bits, *, idr: bool, frame_num: int) -> None:
    bits.ue(0)  # first_mb_in_slice
    bits.ue(_SLICE_I if idr else _SLICE_P)
    bits.ue(0)  # pic_parameter_set_id
    bits.u(frame_num % (1 << _LOG2_MAX_FRAME_NUM), _LOG2_MAX_FRAME_NUM)
    if idr:
        bits.ue(0)  # idr_pic_id
    else:
        bits.u(0, 1)  # num_ref_idx_active_override_flag
        bits.u(0, 1)  # ref_pic_list_modification_flag_l0
    if idr:
        bits.u(0, 1)  # no_output_of_prior_pics_flag
        bits.u(0, 1)  # long_term_reference_flag
    else:
        bits.u(0, 1)  # adaptive_ref_pic_marking_mode_flag
    bits.se(0)  # slice_qp_delta
    bits.ue(1)  # disable_deblocking_filter_idc: off


def _idr_slice(picture: Picture) -> bytes:
    """An IDR picture of I_PCM macroblocks: every sample as it is."""
    bits = _Bits()
    _slice_header(bits, idr=True, frame_num=0)
    width, chroma_width = picture.width, picture.width // 2
    for top in range(0, picture.height, 16):
        for left in range(0, width, 16):
            bits.ue(_I_PCM_IN_I_SLICE)
            bits.align()  # pcm_alignment_zero_bit
            for row in range(top, top + 16):
                bits.raw(picture.y[row * width + left : row * width + left + 16])
            for plane in (picture.cb, picture.cr):
                for row in range(top // 2, top // 2 + 8):
                    start = row * chroma_width + left // 2
                    bits.raw(plane[start : start + 8])
    return _nal(5, 3, bits.trailing())


def _pan_slice(picture: Picture, *, frame_num: int, motion: tuple[int, int]) -> bytes:
    """A P picture: each macroblock predicted from the previous picture, moved by ``motion``.

    ``motion`` is in quarter samples. With one vector for every macroblock, the predicted vector
    equals it everywhere but in the first macroblock (no neighbours), so only that one codes a
    difference; no macroblock has a residual (coded_block_pattern 0).
    """
    bits = _Bits()
    _slice_header(bits, idr=False, frame_num=frame_num)
    count = (picture.width // 16) * (picture.height // 16)
    for index in range(count):
        bits.ue(0)  # mb_skip_run
        bits.ue(0)  # mb_type P_L0_16x16
        difference = motion if index == 0 else (0, 0)
        bits.se(difference[0])
        bits.se(difference[1])
        bits.ue(0)  # coded_block_pattern 0 (codeNum 0 for inter macroblocks)
    return _nal(1, 2, bits.trailing())


def encode(
    picture: Picture, *, frames: int, motion: tuple[int, int], crop_bottom: int = 0
) -> tuple[bytes, bytes, Sequence[bytes]]:
    """The SPS, the PPS and ``frames`` pictures (one NAL unit each): ``picture``, then pans."""
    sps = sequence_parameter_set(picture.width, picture.height, crop_bottom=crop_bottom)
    samples = [_idr_slice(picture)]
    samples += [_pan_slice(picture, frame_num=n, motion=motion) for n in range(1, frames)]
    return sps, picture_parameter_set(), samples
