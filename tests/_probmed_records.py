"""Hand-built ProbMed response records shared by the scoring and CLI tests; each line's comment says
whether our default matching and the published (--compat) rule count it right."""

from __future__ import annotations

T1, T2 = "ct scan_abdomen", "x-ray_chest"


def rec(image_type: str, image: str, qa_type: str, truth: str, response: str) -> dict[str, str]:
    return {"image_type": image_type, "id": image, "qa_type": qa_type, "gt_ans": truth, "response": response}


# marks: (default right?, compat right?)
RECORDS = [
    rec(T1, "img1", "modality_gt", "yes", "Yes."),                        # ✓ ✓
    rec(T1, "img1", "modality_hallu", "no", "None"),                      # ✗ ✓  "None" contains "No"
    rec(T1, "img1", "body_part_gt", "yes", "Yes, this is the abdomen."),  # ✓ ✓
    rec(T1, "img1", "body_part_hallu", "no", "No."),                      # ✓ ✓
    rec(T1, "img1", "abnormality", "yes", "yes"),                         # ✓ ✓
    rec(T1, "img1", "entity_gt_0", "yes", "Yes"),                         # ✓ ✓
    rec(T1, "img1", "entity_hallu_0", "no", "Not that I can see"),        # ✗ ✓  "Not" contains "No"
    rec(T1, "img1", "entity_gt_1", "yes", "Yes"),                         # ✓ ✓
    rec(T1, "img1", "entity_hallu_1", "no", "No"),                        # ✓ ✓
    rec(T1, "img1", "grounding_gt_0", "yes", "yes"),                      # ✓ ✓
    rec(T1, "img1", "grounding_hallu_0", "no", "Yes"),                    # ✗ ✗
    rec(T1, "img2", "modality_gt", "yes", "Yes"),                         # ✓ ✓
    rec(T1, "img2", "modality_hallu", "no", "No"),                        # ✓ ✓
    rec(T1, "img2", "body_part_gt", "yes", "The answer is: yes"),         # ✓ ✗  no capital "Yes"
    rec(T1, "img2", "body_part_hallu", "no", "no"),                       # ✓ ✓
    rec(T1, "img2", "abnormality", "no", "No abnormality"),               # ✓ ✓
    rec(T1, "img2", "entity_hallu", "no", "No."),                         # ✓ ✓  lone question (normal image)
    # T2 has no abnormality question: the published script divides by zero there
    rec(T2, "img3", "modality_gt", "yes", "Yes"),                         # ✓ ✓
    rec(T2, "img3", "modality_hallu", "no", "No"),                        # ✓ ✓
    rec(T2, "img3", "body_part_gt", "yes", "Yes"),                        # ✓ ✓
    rec(T2, "img3", "body_part_hallu", "no", "Normal scan"),              # ✗ ✓  "Normal" contains "No"
    rec(T2, "img3", "entity_gt_0", "yes", "yes."),                        # ✓ ✓
    rec(T2, "img3", "entity_hallu_0", "no", "no"),                        # ✓ ✓
    rec(T2, "img3", "grounding_gt_0", "yes", "Yes"),                      # ✓ ✓
    rec(T2, "img3", "grounding_hallu_0", "no", "No"),                     # ✓ ✓
    rec(T2, "img3", "grounding_hallu_1", "no", "No"),                     # its gt question is missing: dropped
]
