"""Body text for synthetic papers: neutral filler, model-mention sentences with known roles,
and a references section.

Model mentions are the one part of the truth that does not come from metadata: we write
sentences whose role we know ("We fine-tune X" -> fine-tuned). Filler sentences name no
model, institution, person or country, so every mention on the page is either one we wrote
(role known) or one that was already in the metadata title/abstract (role unknown -> None).
A model named only inside the references is deliberately left out of the truth.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass

# (name as written, family, first year it is plausible, in-text citation, reference entry)
MODELS: list[tuple[str, str, int, str, str]] = [
    ("Transformer", "transformer", 2017, "Vaswani et al., 2017",
     "Ashish Vaswani, Noam Shazeer, Niki Parmar, et al. Attention is all you need. In Advances in Neural Information Processing Systems, 2017."),
    ("BERT", "bert", 2018, "Devlin et al., 2019",
     "Jacob Devlin, Ming-Wei Chang, Kenton Lee, and Kristina Toutanova. BERT: Pre-training of deep bidirectional transformers for language understanding. In Proceedings of NAACL-HLT, 2019."),
    ("ResNet-50", "resnet", 2016, "He et al., 2016",
     "Kaiming He, Xiangyu Zhang, Shaoqing Ren, and Jian Sun. Deep residual learning for image recognition. In CVPR, 2016."),
    ("VGG-16", "vgg", 2015, "Simonyan and Zisserman, 2015",
     "Karen Simonyan and Andrew Zisserman. Very deep convolutional networks for large-scale image recognition. In ICLR, 2015."),
    ("AlexNet", "alexnet", 2013, "Krizhevsky et al., 2012",
     "Alex Krizhevsky, Ilya Sutskever, and Geoffrey E. Hinton. ImageNet classification with deep convolutional neural networks. In NIPS, 2012."),
    ("Inception-v3", "inception", 2016, "Szegedy et al., 2016",
     "Christian Szegedy, Vincent Vanhoucke, Sergey Ioffe, Jon Shlens, and Zbigniew Wojna. Rethinking the Inception architecture for computer vision. In CVPR, 2016."),
    ("GloVe", "glove", 2015, "Pennington et al., 2014",
     "Jeffrey Pennington, Richard Socher, and Christopher D. Manning. GloVe: Global vectors for word representation. In EMNLP, 2014."),
    ("word2vec", "word2vec", 2014, "Mikolov et al., 2013",
     "Tomas Mikolov, Ilya Sutskever, Kai Chen, Greg Corrado, and Jeff Dean. Distributed representations of words and phrases and their compositionality. In NIPS, 2013."),
    ("ELMo", "elmo", 2018, "Peters et al., 2018",
     "Matthew E. Peters, Mark Neumann, Mohit Iyyer, et al. Deep contextualized word representations. In NAACL-HLT, 2018."),
    ("GPT-2", "gpt", 2019, "Radford et al., 2019",
     "Alec Radford, Jeffrey Wu, Rewon Child, et al. Language models are unsupervised multitask learners. Technical report, 2019."),
    ("RoBERTa", "roberta", 2019, "Liu et al., 2019",
     "Yinhan Liu, Myle Ott, Naman Goyal, et al. RoBERTa: A robustly optimized BERT pretraining approach. arXiv:1907.11692, 2019."),
    ("T5", "t5", 2020, "Raffel et al., 2020",
     "Colin Raffel, Noam Shazeer, Adam Roberts, et al. Exploring the limits of transfer learning with a unified text-to-text transformer. JMLR, 2020."),
    ("ViT-B/16", "vit", 2021, "Dosovitskiy et al., 2021",
     "Alexey Dosovitskiy, Lucas Beyer, Alexander Kolesnikov, et al. An image is worth 16x16 words: Transformers for image recognition at scale. In ICLR, 2021."),
    ("CLIP", "clip", 2021, "Radford et al., 2021",
     "Alec Radford, Jong Wook Kim, Chris Hallacy, et al. Learning transferable visual models from natural language supervision. In ICML, 2021."),
    ("GPT-4", "gpt", 2023, "OpenAI, 2023", "OpenAI. GPT-4 technical report. arXiv:2303.08774, 2023."),
    ("LLaMA-2-7B", "llama", 2023, "Touvron et al., 2023",
     "Hugo Touvron, Louis Martin, Kevin Stone, et al. Llama 2: Open foundation and fine-tuned chat models. arXiv:2307.09288, 2023."),
    ("Llama-3-8B", "llama", 2024, "Dubey et al., 2024",
     "Abhimanyu Dubey, Abhinav Jauhri, Abhinav Pandey, et al. The Llama 3 herd of models. arXiv:2407.21783, 2024."),
    ("Qwen-7B", "qwen", 2023, "Bai et al., 2023",
     "Jinze Bai, Shuai Bai, Yunfei Chu, et al. Qwen technical report. arXiv:2309.16609, 2023."),
    ("Qwen2-7B", "qwen", 2024, "Yang et al., 2024",
     "An Yang, Baosong Yang, Binyuan Hui, et al. Qwen2 technical report. arXiv:2407.10671, 2024."),
    ("Mistral-7B", "mistral", 2023, "Jiang et al., 2023",
     "Albert Q. Jiang, Alexandre Sablayrolles, Arthur Mensch, et al. Mistral 7B. arXiv:2310.06825, 2023."),
    ("DeepSeek-V2", "deepseek", 2024, "DeepSeek-AI, 2024",
     "DeepSeek-AI. DeepSeek-V2: A strong, economical, and efficient mixture-of-experts language model. arXiv:2405.04434, 2024."),
    ("Gemma-7B", "gemma", 2024, "Gemma Team, 2024",
     "Gemma Team. Gemma: Open models based on Gemini research and technology. arXiv:2403.08295, 2024."),
]
FAMILY = {name: family for name, family, *_ in MODELS}

#: Patterns for model names already present in metadata titles/abstracts (role unknown).
SCAN_PATTERNS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"\bTransformers?\b"), "transformer"),
    (re.compile(r"\bRoBERTa\b"), "roberta"),
    (re.compile(r"\bBERT(?:-(?:base|large))?\b"), "bert"),
    (re.compile(r"\b(?:GPT-?[234](?:\.5)?o?|ChatGPT)\b"), "gpt"),
    (re.compile(r"\bL(?:LaMA|lama)(?:[- ]?\d(?:\.\d)?)?(?:-\d+B)?\b"), "llama"),
    (re.compile(r"\bQwen[\d.]*(?:-\d+B)?\b"), "qwen"),
    (re.compile(r"\b(?:Mistral|Mixtral)(?:[- ]\d+[Bx]?\d*B?)?\b"), "mistral"),
    (re.compile(r"\b(?:Flan-)?T5\b"), "t5"),
    (re.compile(r"\bResNet(?:-?\d+)?\b"), "resnet"),
    (re.compile(r"\bVGG(?:-?\d+)?\b"), "vgg"),
    (re.compile(r"\bViT(?:-[BLH]/\d+)?\b"), "vit"),
    (re.compile(r"\bCLIP\b"), "clip"),
    (re.compile(r"\bAlexNet\b"), "alexnet"),
    (re.compile(r"\bInception(?:-v\d)?\b"), "inception"),
    (re.compile(r"\bGloVe\b"), "glove"),
    (re.compile(r"\b[Ww]ord2[Vv]ec\b"), "word2vec"),
    (re.compile(r"\bELMo\b"), "elmo"),
    (re.compile(r"\bWaveNet\b"), "wavenet"),
    (re.compile(r"\bDeepSeek[\w.-]*"), "deepseek"),
    (re.compile(r"\bGemma[\w.-]*"), "gemma"),
]


def scan_mentions(text: str) -> list[dict]:
    """Model names already in metadata text, as {name, family, role=None}, first-seen order."""
    found: dict[str, dict] = {}
    for pattern, family in SCAN_PATTERNS:
        for m in pattern.finditer(text):
            found.setdefault(m.group(0), {"name": m.group(0), "family": family, "role": None, "_pos": m.start()})
    out = sorted(found.values(), key=lambda d: d.pop("_pos"))
    return out


_ROLE_TEMPLATES = {
    "fine-tuned": ["We fine-tune {A} on each task with the same learning-rate schedule.",
                   "Starting from the public {A} checkpoint, we fine-tune all layers for three epochs."],
    "used": ["We use {A} ({cite}) as a frozen feature extractor.",
             "All representations are computed with {A}, which we keep fixed during training."],
    "compared": ["We compare against {A} and {B}, two strong baselines for this setting.",
                 "Our method outperforms {A} on every benchmark we consider."],
    "cited-only": ["Related approaches build on {A} ({cite}), which we do not use here."],
}


@dataclass
class Sentence:
    text: str
    mentions: list[dict]  # {name, family, role}
    refs: list[str]  # reference entries this sentence cites


def model_sentences(rng: random.Random, year: int, avoid: set[str]) -> list[Sentence]:
    """One or two sentences mentioning models with known roles, plausible for the year."""
    pool = [m for m in MODELS if m[2] <= year and m[1] not in avoid] or [m for m in MODELS if m[1] not in avoid]
    rng.shuffle(pool)
    out: list[Sentence] = []
    for _ in range(rng.choice((1, 1, 2))):
        role = rng.choice(list(_ROLE_TEMPLATES))
        template = rng.choice(_ROLE_TEMPLATES[role])
        if role == "cited-only" and any(m[0] == "Transformer" for m in pool) and rng.random() < 0.5:
            t = next(m for m in pool if m[0] == "Transformer")
            pool.remove(t)
            out.append(Sentence(f"Transformers ({t[3]}) have become a standard building block in this area.",
                                [{"name": "Transformers", "family": t[1], "role": role}], [t[4]]))
            continue
        need = 2 if "{B}" in template else 1
        if len(pool) < need:
            break
        picked = [pool.pop() for _ in range(need)]
        text = template.format(A=picked[0][0], B=picked[-1][0], cite=picked[0][3])
        out.append(Sentence(text, [{"name": m[0], "family": m[1], "role": role} for m in picked],
                            [m[4] for m in picked]))
    return out


def reference_only_model(rng: random.Random, year: int, avoid: set[str]) -> str | None:
    """A reference entry naming a model the body never mentions (truth must not include it)."""
    pool = [m for m in MODELS if m[2] <= year + 1 and m[1] not in avoid]
    return rng.choice(pool)[4] if pool else None


FILLER = [
    "Learning from limited supervision remains a central problem in machine learning.",
    "A large body of work has studied this question from both theoretical and empirical perspectives.",
    "In this paper we revisit the problem and propose a simple alternative.",
    "Our analysis relies on standard assumptions that hold in many practical settings.",
    "We show that the resulting estimator is consistent and admits an efficient implementation.",
    "The main difficulty is that the objective is neither convex nor smooth in general.",
    "Existing methods either scale poorly with the dimension or require strong prior knowledge.",
    "We address both issues with a two-stage procedure that is easy to implement.",
    "Experiments on synthetic and real data confirm the theoretical predictions.",
    "The rest of the paper is organised as follows.",
    "Section 2 reviews related work and Section 3 introduces the problem setting.",
    "We then present our algorithm and its guarantees, followed by an empirical evaluation.",
    "Throughout, we use bold letters for vectors and capital letters for matrices.",
    "All proofs are deferred to the supplementary material.",
    "The computational cost is dominated by a single pass over the training data.",
    "In contrast to prior work, our bounds do not depend on the number of parameters.",
    "We further discuss the limitations of our approach and directions for future work.",
    "Our code and data will be made publicly available upon publication.",
    "This observation motivates the regularised objective studied below.",
    "Empirically, the method is robust to the choice of its only hyper-parameter.",
    "We report the mean and standard deviation over five random seeds.",
    "The same trend holds for every dataset and model size we consider.",
    "We first recall the basic definitions and fix the notation.",
    "Each experiment is repeated with the same budget for every method.",
    "The gap widens as the amount of labelled data decreases.",
    "A careful choice of the step size is essential for stability.",
    "We observe that the simple baseline is surprisingly competitive.",
    "Ablations show that each component contributes to the final result.",
    "Our theoretical results are complemented by extensive simulations.",
    "The proposed objective can be optimised with stochastic gradients.",
    "We use the standard train, validation and test splits.",
    "Hyper-parameters are selected on the validation set.",
]
SECTIONS = ["Related Work", "Problem Setting", "Method", "Experiments", "Conclusion"]
NEUTRAL_REFERENCES = [
    "Diederik P. Kingma and Jimmy Ba. Adam: A method for stochastic optimization. In ICLR, 2015.",
    "Yoshua Bengio, Aaron Courville, and Pascal Vincent. Representation learning: A review and new perspectives. IEEE TPAMI, 2013.",
    "Léon Bottou, Frank E. Curtis, and Jorge Nocedal. Optimization methods for large-scale machine learning. SIAM Review, 2018.",
    "Shai Shalev-Shwartz and Shai Ben-David. Understanding Machine Learning: From Theory to Algorithms. Cambridge University Press, 2014.",
    "Nitish Srivastava, Geoffrey Hinton, Alex Krizhevsky, Ilya Sutskever, and Ruslan Salakhutdinov. Dropout: A simple way to prevent neural networks from overfitting. JMLR, 2014.",
    "Sergey Ioffe and Christian Szegedy. Batch normalization: Accelerating deep network training by reducing internal covariate shift. In ICML, 2015.",
]


class Filler:
    """Neutral sentences drawn without repetition (until the bank runs out) for one paper."""

    def __init__(self, rng: random.Random):
        self.rng = rng
        self.pool: list[str] = []

    def take(self, k: int) -> list[str]:
        out = []
        for _ in range(k):
            if not self.pool:
                self.pool = self.rng.sample(FILLER, len(FILLER))
            out.append(self.pool.pop())
        return out

    def paragraphs(self, n: int, sentences: tuple[int, int] = (3, 5)) -> list[str]:
        return [" ".join(self.take(self.rng.randint(*sentences))) for _ in range(n)]
