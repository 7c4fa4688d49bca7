"""Fixed values of the workflows: the platform's face consent text."""

from __future__ import annotations

# The platform's face consent text (PIPL art. 26 and 29, the 2025 face-recognition rules),
# used by a building that has not written its own. Stored as the building's version 1 the
# first time it is shown, so a consent always points at words kept in the database.
DEFAULT_FACE_CONSENT_ZH = (
    "为核验您是否为证件本人，前台将拍摄您的面部照片，并将其与证件照片进行比对（人脸识别）。"
    "人脸信息属于敏感个人信息：仅用于本次到访的身份核验，照片按本大楼的保存期限保存后删除，"
    "比对只保留相似度分数，不保留比对图像。您可以拒绝：前台将人工核对证件，您同样可以入场。"
)
DEFAULT_FACE_CONSENT_EN = (
    "To check that you are the person on your ID document, reception will take a photo of "
    "your face and compare it with the document's photo (face recognition). Face data is "
    "sensitive personal information: it is used only to check your identity for this visit; "
    "the photo is kept for this building's retention period and then deleted, and of the "
    "comparison only the similarity score is kept, never the images. You may refuse: "
    "reception will check your document by eye, and you may enter all the same."
)
# Longer than any honest consent text; bounds what a form may store.
MAX_FACE_CONSENT_CHARS = 4000
